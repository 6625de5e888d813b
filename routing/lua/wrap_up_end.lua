-- End a conversation's wrap-up before its time.  ARGV[4] = conversation id, ARGV[5] = agent id.
local ix_id = ARGV[4]
local ix, err = held_by(ix_id, ARGV[5], {'wrap_up'})
if ix == nil then return err end

local a = agent(ix.agent_id)
finish(ix_id, ix, a)
emit(ix.agent_id, {type = 'wrap_up_ended', conversation_id = ix_id, agent_id = ix.agent_id})
local offers = dispatch(queues_of(a, nil))
return result({conversation_id = ix_id, state = 'closed', offers = offers})
