-- Checks shared by the scripts that act on an assigned conversation.

-- Return the interaction when it is assigned to `agent_id` in one of `states`, else nil
-- and a failure.
-- An empty `agent_id` acts for a supervisor, who may act on any holder's conversation.
local function held_by(ix_id, agent_id, states)
  local ix = hash(k_ix(ix_id))
  if ix == nil or ix.state == nil then
    return nil, failure('conversation_not_found', 'conversation `' .. ix_id .. '` does not exist')
  end
  local allowed = false
  for _, s in ipairs(states) do
    if ix.state == s then allowed = true end
  end
  if not allowed then
    return nil, failure('conversation_' .. ix.state, 'conversation `' .. ix_id .. '` is ' ..
      ix.state .. '; this needs it ' .. table.concat(states, ' or '), {state = ix.state})
  end
  if agent_id ~= '' and ix.agent_id ~= agent_id then
    return nil, failure('not_holder', 'conversation `' .. ix_id .. '` is assigned to another agent')
  end
  return ix, nil
end

local function queues_of(a, extra)
  local queues = {}
  if extra then table.insert(queues, extra) end
  if a then
    for _, q in ipairs(a.queues_t) do table.insert(queues, q) end
  end
  return queues
end
