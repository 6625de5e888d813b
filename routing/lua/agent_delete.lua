-- Delete an agent that holds no conversation.  ARGV[4] = agent id.
local agent_id = ARGV[4]
local a = agent(agent_id)
if a == nil then return failure('agent_not_found', 'agent `' .. agent_id .. '` does not exist') end
local held = redis.call('SCARD', k_agent_ixs(agent_id))
if held > 0 then
  return failure('agent_busy', 'agent `' .. agent_id .. '` still holds ' .. held ..
    ' conversations; transfer or close them first', {held = held})
end
for _, q in ipairs(a.queues_t) do redis.call('ZREM', k_ready(q), agent_id) end
redis.call('SREM', K_AGENTS, agent_id)
redis.call('DEL', k_agent(agent_id), k_agent_ixs(agent_id))
emit('', {type = 'agent_deleted', agent_id = agent_id})
return result({agent_id = agent_id})
