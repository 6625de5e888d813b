-- A customer message on a WhatsApp conversation: enqueue it when new or closed, deliver
-- it to its assigned agent, or hand it back to the agent still in wrap-up with it.
-- ARGV[4] = conversation id, ARGV[5] = JSON spec (queue chosen by match rules, window),
-- ARGV[6] = JSON message reference (wamid, message_type, timestamp_ms).
local ix_id = ARGV[4]
local spec = cjson.decode(ARGV[5])
local message = cjson.decode(ARGV[6])
local ix = hash(k_ix(ix_id))

if ix == nil or ix.state == nil or ix.state == 'closed' or ix.state == 'abandoned' then
  if queue_config(spec.queue) == nil then
    return failure('queue_not_found', 'queue `' .. spec.queue .. '` does not exist')
  end
  local reopened = ix ~= nil and ix.state ~= nil
  local offers = enqueue(ix_id, spec)
  return result({outcome = 'queued', reopened = reopened, offers = offers})
end

-- A late or out-of-order message never shortens the window.
local window = tonumber(spec.window_expires_at_ms or '')
local stored = tonumber(ix.window_expires_at_ms or '')
if window ~= nil and (stored == nil or window > stored) then
  redis.call('HSET', k_ix(ix_id), 'window_expires_at_ms', fmt(window))
  stored = window
end
local cfg = queue_config(ix.queue)

if ix.state == 'queued' or ix.state == 'offered' then
  local urgent = plan_window(ix_id, cfg, stored)
  local score = score_of(tonumber(ix.priority or '0'), urgent, tonumber(ix.enqueued_at_ms))
  redis.call('HSET', k_ix(ix_id), 'urgent', tostring(urgent), 'score', fmt(score))
  if ix.state == 'queued' then redis.call('ZADD', k_queue(ix.queue), fmt(score), ix_id) end
  return result({outcome = 'waiting'})
end

local event = {type = 'message', conversation_id = ix_id, agent_id = ix.agent_id,
  wamid = message.wamid, message_type = message.message_type, timestamp_ms = message.timestamp_ms}

if ix.state == 'wrap_up' then
  local a = agent(ix.agent_id)
  if ix.holds_capacity ~= '1' and not (a and has_room(a, ix.channel)) then
    -- A hold freed this slot and the agent filled it since: queue it, sticky to them.
    finish(ix_id, ix, a)
    spec.preferred_agent = ix.agent_id
    local offers = enqueue(ix_id, spec)
    return result({outcome = 'queued', reopened = true, offers = offers})
  end
  if ix.holds_capacity ~= '1' then take_capacity(a, ix.channel, ix_id) end
  unschedule('wrapup:' .. ix_id)
  redis.call('HSET', k_ix(ix_id), 'state', 'assigned', 'assigned_at_ms', fmt(NOW),
    'wrap_up_until_ms', '')
  plan_warning(ix_id, cfg, stored)
  if a then refresh_ready(a) end
  emit(ix.agent_id, {type = 'assigned', conversation_id = ix_id, agent_id = ix.agent_id,
    channel = ix.channel, queue = ix.queue, reason = 'reopened'})
  emit(ix.agent_id, event)
  return result({outcome = 'delivered', agent_id = ix.agent_id, reopened = true})
end

plan_warning(ix_id, cfg, stored)
emit(ix.agent_id, event)
return result({outcome = 'delivered', agent_id = ix.agent_id})
