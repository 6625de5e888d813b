-- Set an agent's presence.  ARGV[4] = agent id, ARGV[5] = presence.
-- Leaving `available` withdraws pending offers (no missed offer counted) so that they
-- go to someone who is there; becoming available offers waiting work at once.
local agent_id = ARGV[4]
local presence = ARGV[5]
local a = agent(agent_id)
if a == nil then return failure('agent_not_found', 'agent `' .. agent_id .. '` does not exist') end
local known = {offline = true, available = true, away = true, wrap_up = true}
if not known[presence] then
  return failure('invalid_presence', 'presence `' .. presence ..
    '` is unknown; use offline, available, away or wrap_up')
end

local previous = a.presence
set_presence(a, presence)

local queues = {}
if presence == 'available' then
  for _, q in ipairs(a.queues_t) do table.insert(queues, q) end
else
  for _, ix_id in ipairs(redis.call('SMEMBERS', k_agent_ixs(agent_id))) do
    local ix = redis.call('HMGET', k_ix(ix_id), 'state', 'offer_id', 'agent_id')
    if ix[1] == 'offered' and ix[3] == agent_id then
      local o = hash(k_offer(ix[2]))
      if o and o.state == 'pending' then
        table.insert(queues, (return_to_queue(ix[2], o, 'withdrawn')))
      end
    end
  end
end
local offers = dispatch(queues)
return result({agent_id = agent_id, presence = presence, previous = previous, offers = offers})
