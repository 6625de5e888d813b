-- Close an assigned or held conversation. With a wrap-up time the agent's capacity stays
-- taken until the wrap-up ends; without one it frees now and waiting work is offered.
-- ARGV[4] = conversation id, ARGV[5] = agent id ('' for a supervisor).
local ix_id = ARGV[4]
local ix, err = held_by(ix_id, ARGV[5], {'assigned', 'held'})
if ix == nil then return err end

local a = agent(ix.agent_id)
local cfg = queue_config(ix.queue)
local wrap_up_ms = queue_ms(cfg, 'wrap_up_s', 0)
stat(ix.queue, 'closed')
redis.call('HSET', k_ix(ix_id), 'closed_at_ms', fmt(NOW), 'last_agent_id', ix.agent_id)
if ix.customer_id and ix.customer_id ~= '' then
  redis.call('HSET', k_customer(ix.customer_id), 'last_agent_id', ix.agent_id,
    'last_served_at_ms', fmt(NOW))
  redis.call('EXPIRE', k_customer(ix.customer_id), CLOSED_KEEP_S)
end

if wrap_up_ms > 0 then
  local until_ms = NOW + wrap_up_ms
  redis.call('HSET', k_ix(ix_id), 'state', 'wrap_up', 'wrap_up_until_ms', fmt(until_ms))
  unschedule('warn:' .. ix_id)
  schedule('wrapup:' .. ix_id, until_ms)
  emit(ix.agent_id, {type = 'closed', conversation_id = ix_id, agent_id = ix.agent_id,
    wrap_up_until_ms = until_ms})
  return result({conversation_id = ix_id, state = 'wrap_up', wrap_up_until_ms = until_ms, offers = 0})
end

finish(ix_id, ix, a)
emit(ix.agent_id, {type = 'closed', conversation_id = ix_id, agent_id = ix.agent_id})
local offers = dispatch(queues_of(a, nil))
return result({conversation_id = ix_id, state = 'closed', offers = offers})
