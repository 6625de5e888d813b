-- Hand in a new interaction (API or a new WhatsApp conversation) and offer it at once if
-- an agent can take it.  ARGV[4] = interaction id, ARGV[5] = JSON spec.
local ix_id = ARGV[4]
local spec = cjson.decode(ARGV[5])

if queue_config(spec.queue) == nil then
  return failure('unknown_queue', 'queue `' .. spec.queue .. '` does not exist')
end
local state = redis.call('HGET', k_ix(ix_id), 'state')
if state and state ~= 'closed' and state ~= 'abandoned' then
  return failure('interaction_active', 'interaction `' .. ix_id .. '` is already ' .. state,
    {state = state})
end

local offers = enqueue(ix_id, spec)
local now_state = redis.call('HGET', k_ix(ix_id), 'state')
return result({conversation_id = ix_id, state = now_state, offers = offers})
