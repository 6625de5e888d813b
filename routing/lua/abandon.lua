-- The customer left before an agent took the conversation.  ARGV[4] = conversation id,
-- ARGV[5] = reason.
local ix_id = ARGV[4]
local ix = hash(k_ix(ix_id))
if ix == nil or ix.state == nil then
  return failure('conversation_not_found', 'conversation `' .. ix_id .. '` does not exist')
end
if ix.state ~= 'queued' and ix.state ~= 'offered' then
  return failure('conversation_' .. ix.state, 'conversation `' .. ix_id .. '` is ' .. ix.state ..
    '; only a waiting conversation can be abandoned, close an assigned one instead', {state = ix.state})
end
local agent_id = abandon(ix_id, ix, ARGV[5])
local offers = dispatch(queues_of(agent(agent_id), nil))
return result({conversation_id = ix_id, state = 'abandoned', offers = offers})
