-- Transfer an assigned or held conversation to an agent (as an offer) or to a queue.
-- The current holder's capacity frees at once.
-- ARGV[4] = conversation id, ARGV[5] = acting agent id ('' for a supervisor),
-- ARGV[6] = agent|queue, ARGV[7] = target, ARGV[8] = note.
local ix_id = ARGV[4]
local target_kind = ARGV[6]
local target = ARGV[7]
local note = ARGV[8]
local ix, err = held_by(ix_id, ARGV[5], {'assigned', 'held'})
if ix == nil then return err end
local from = agent(ix.agent_id)

local t = nil
if target_kind == 'agent' then
  t = agent(target)
  if t == nil then return failure('unknown_agent', 'agent `' .. target .. '` does not exist') end
  if target == ix.agent_id then
    return failure('same_agent', 'conversation `' .. ix_id .. '` is already held by `' .. target .. '`')
  end
  if t.presence ~= 'available' or not has_room(t, ix.channel) then
    return failure('agent_unavailable', 'agent `' .. target .. '` is ' .. (t.presence or 'offline') ..
      ' and cannot take a ' .. ix.channel .. ' conversation now; transfer to a queue instead',
      {presence = t.presence})
  end
elseif queue_config(target) == nil then
  return failure('unknown_queue', 'queue `' .. target .. '` does not exist')
end

if from then
  release_capacity(from, ix.channel, ix_id)
  forget_interaction(from, ix_id)
  refresh_ready(from)
end
unschedule('warn:' .. ix_id)
local queue = ix.queue
if target_kind == 'queue' then queue = target end
local cfg = queue_config(queue)
local urgent = 0
if ix.channel == 'whatsapp' then urgent = plan_window(ix_id, cfg, tonumber(ix.window_expires_at_ms or '')) end
local score = score_of(tonumber(ix.priority or '0'), urgent, NOW)
redis.call('HSET', k_ix(ix_id), 'state', 'queued', 'queue', queue, 'agent_id', '',
  'enqueued_at_ms', fmt(NOW), 'score', fmt(score), 'urgent', tostring(urgent),
  'preferred_agent', '', 'sticky_until_ms', '0', 'declined_by', '', 'last_agent_id', ix.agent_id,
  'transfer_note', note, 'transferred_from', ix.agent_id)
stat(queue, 'transferred_in')

local event = {type = 'transferred', conversation_id = ix_id, from_agent_id = ix.agent_id,
  note = note}
if target_kind == 'agent' then event.to_agent_id = target else event.to_queue = target end
emit(ix.agent_id, event)

if target_kind == 'agent' then
  local fresh = ix_fields(ix_id)
  local offer_id = make_offer(ix_id, fresh, queue, cfg, t, 'transfer', note, ix.agent_id)
  emit(target, event)
  dispatch(queues_of(from, nil))
  return result({conversation_id = ix_id, state = 'offered', offer_id = offer_id, agent_id = target})
end

put_in_queue(ix_id, queue, score, NOW)
local offers = dispatch(queues_of(from, queue))
local state = redis.call('HGET', k_ix(ix_id), 'state')
return result({conversation_id = ix_id, state = state, queue = queue, offers = offers})
