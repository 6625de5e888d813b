-- Accept or reject an offer.  ARGV[4] = offer id, ARGV[5] = agent id, ARGV[6] = accept|reject.
local offer_id = ARGV[4]
local agent_id = ARGV[5]
local answer = ARGV[6]
local o = hash(k_offer(offer_id))

if o == nil then
  return failure('offer_not_found', 'offer `' .. offer_id .. '` does not exist or resolved more than a day ago')
end
if o.agent_id ~= agent_id then
  return failure('offer_not_yours', 'offer `' .. offer_id .. '` was made to another agent')
end
if o.state ~= 'pending' then
  return failure('offer_' .. o.state, 'offer `' .. offer_id .. '` is already ' .. o.state,
    {offer_state = o.state, conversation_id = o.interaction_id})
end

-- The sweep may not have expired it yet; a late answer expires it here instead.
if tonumber(o.deadline_ms) <= NOW then
  local queue, a = return_to_queue(offer_id, o, 'timeout')
  local queues = {queue}
  if a then for _, q in ipairs(a.queues_t) do table.insert(queues, q) end end
  dispatch(queues)
  return failure('offer_expired', 'offer `' .. offer_id .. '` expired at ' .. o.deadline_ms ..
    ' ms; the conversation went back to its queue', {offer_state = 'expired',
    conversation_id = o.interaction_id, deadline_ms = tonumber(o.deadline_ms)})
end

if answer == 'accept' then
  local ix = accept_offer(offer_id, o)
  return result({conversation_id = o.interaction_id, state = 'assigned', channel = ix.channel,
    queue = ix.queue})
end

local queue, a = return_to_queue(offer_id, o, 'rejected')
local queues = {queue}
if a then for _, q in ipairs(a.queues_t) do table.insert(queues, q) end end
dispatch(queues)
return result({conversation_id = o.interaction_id, state = 'queued'})
