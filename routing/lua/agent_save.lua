-- Create or update an agent's profile, keeping its live state (presence, capacity in use).
-- ARGV[4] = agent id, ARGV[5] = create|update, ARGV[6] = name, ARGV[7] = skills JSON,
-- ARGV[8] = languages JSON, ARGV[9] = capacity JSON, ARGV[10] = capacity units ('' for no
-- cross-channel limit), ARGV[11] = channel costs JSON, ARGV[12] = queues JSON.
local agent_id = ARGV[4]
local mode = ARGV[5]
local exists = redis.call('SISMEMBER', K_AGENTS, agent_id) == 1

if mode == 'create' and exists then
  return failure('agent_exists', 'agent `' .. agent_id .. '` already exists; update it with PUT')
end
if mode == 'update' and not exists then
  return failure('agent_not_found', 'agent `' .. agent_id .. '` does not exist')
end
local queues = cjson.decode(ARGV[12])
for _, q in ipairs(queues) do
  if queue_config(q) == nil then
    return failure('unknown_queue', 'queue `' .. q .. '` does not exist; create it first',
      {queue = q})
  end
end

local old = agent(agent_id)
if old then
  for _, q in ipairs(old.queues_t) do redis.call('ZREM', k_ready(q), agent_id) end
end
redis.call('HSET', k_agent(agent_id), 'name', ARGV[6], 'skills', ARGV[7], 'languages', ARGV[8],
  'capacity', ARGV[9], 'units', ARGV[10], 'costs', ARGV[11], 'queues', ARGV[12],
  'updated_at_ms', fmt(NOW))
if not exists then
  redis.call('HSET', k_agent(agent_id), 'presence', 'offline', 'presence_since_ms', fmt(NOW),
    'created_at_ms', fmt(NOW), 'used_units', '0', 'missed_in_row', '0', 'last_seq', '0')
  redis.call('SADD', K_AGENTS, agent_id)
end

AGENTS[agent_id] = nil
local a = agent(agent_id)
refresh_ready(a)
local offers = 0
if a.presence == 'available' then offers = dispatch(a.queues_t) end
return result({agent_id = agent_id, created = not exists, offers = offers})
