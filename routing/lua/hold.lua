-- Put an assigned conversation on hold or resume it.
-- ARGV[4] = conversation id, ARGV[5] = agent id ('' for a supervisor), ARGV[6] = hold|resume.
-- Whether a hold frees the agent's capacity is the queue's `hold_frees_capacity`.
local ix_id = ARGV[4]
local action = ARGV[6]

if action == 'hold' then
  local ix, err = held_by(ix_id, ARGV[5], {'assigned'})
  if ix == nil then return err end
  local a = agent(ix.agent_id)
  local cfg = queue_config(ix.queue)
  redis.call('HSET', k_ix(ix_id), 'state', 'held', 'held_at_ms', fmt(NOW))
  local offers = 0
  if cfg and cfg.hold_frees_capacity == true and a then
    release_capacity(a, ix.channel, ix_id)
    refresh_ready(a)
    offers = dispatch(queues_of(a, nil))
  end
  emit(ix.agent_id, {type = 'held', conversation_id = ix_id, agent_id = ix.agent_id})
  return result({conversation_id = ix_id, state = 'held', offers = offers})
end

local ix, err = held_by(ix_id, ARGV[5], {'held'})
if ix == nil then return err end
local a = agent(ix.agent_id)
if ix.holds_capacity ~= '1' and a then
  if not has_room(a, ix.channel) then
    return failure('no_capacity', 'agent `' .. a.id .. '` has no free ' .. ix.channel ..
      ' capacity to resume conversation `' .. ix_id .. '`; close or hold another one first')
  end
  take_capacity(a, ix.channel, ix_id)
  refresh_ready(a)
end
redis.call('HSET', k_ix(ix_id), 'state', 'assigned', 'held_at_ms', '')
emit(ix.agent_id, {type = 'resumed', conversation_id = ix_id, agent_id = ix.agent_id})
return result({conversation_id = ix_id, state = 'assigned'})
