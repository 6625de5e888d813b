-- Check the routing state in one atomic read and return every violation found:
-- an agent above capacity, counters that disagree with the held interactions, an
-- interaction held by two agents, or queue membership that disagrees with the state.
local violations = {}
local function violation(text) table.insert(violations, text) end
local holders = {}

for _, agent_id in ipairs(redis.call('SMEMBERS', K_AGENTS)) do
  local a = agent(agent_id)
  local counted = {}
  local units = 0
  for _, ix_id in ipairs(redis.call('SMEMBERS', k_agent_ixs(agent_id))) do
    local ix = redis.call('HMGET', k_ix(ix_id), 'state', 'agent_id', 'channel', 'holds_capacity')
    if ix[2] ~= agent_id then
      violation('agent ' .. agent_id .. ' lists ' .. ix_id .. ' held by ' .. tostring(ix[2]))
    end
    if holders[ix_id] then
      violation(ix_id .. ' is held by ' .. holders[ix_id] .. ' and ' .. agent_id)
    end
    holders[ix_id] = agent_id
    if ix[4] == '1' then
      counted[ix[3]] = (counted[ix[3]] or 0) + 1
      units = units + cost_of(a, ix[3])
    end
  end
  for channel, cap in pairs(a.capacity_t) do
    local n = open_count(a, channel)
    if n > tonumber(cap) then
      violation('agent ' .. agent_id .. ' holds ' .. n .. ' ' .. channel .. ' above capacity ' .. cap)
    end
    if n ~= (counted[channel] or 0) then
      violation('agent ' .. agent_id .. ' counts ' .. n .. ' ' .. channel .. ' but holds ' ..
        (counted[channel] or 0))
    end
  end
  if a.used_n ~= units then
    violation('agent ' .. agent_id .. ' counts ' .. a.used_n .. ' units but holds ' .. units)
  end
  if a.units_n ~= nil and a.used_n > a.units_n then
    violation('agent ' .. agent_id .. ' uses ' .. a.used_n .. ' units above ' .. a.units_n)
  end
end

for _, ix_id in ipairs(redis.call('SMEMBERS', K_ACTIVE)) do
  local ix = redis.call('HMGET', k_ix(ix_id), 'state', 'queue', 'agent_id')
  local queued = redis.call('ZSCORE', k_queue(ix[2]), ix_id) ~= false
  if (ix[1] == 'queued') ~= queued then
    violation(ix_id .. ' is ' .. tostring(ix[1]) .. ' but in-queue=' .. tostring(queued))
  end
  local held = ix[1] == 'offered' or ix[1] == 'assigned' or ix[1] == 'held' or ix[1] == 'wrap_up'
  if held and holders[ix_id] ~= ix[3] then
    violation(ix_id .. ' is ' .. ix[1] .. ' by ' .. tostring(ix[3]) .. ' but listed by ' ..
      tostring(holders[ix_id]))
  end
end

return cjson.encode({ok = true, violations = violations})
