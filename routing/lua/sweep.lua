-- Run the timed steps that are due: offer timeouts, wrap-up ends, bullseye and sticky
-- wake-ups, window urgency, window expiry and window warnings. Each member is removed
-- before it runs, so two sweeping processes never run one step twice.
-- ARGV[4] = the maximum number of steps to run.
local due = redis.call('ZRANGEBYSCORE', K_DEADLINES, '-inf', fmt(NOW), 'LIMIT', 0, tonumber(ARGV[4]))
local counts = {offer = 0, wrapup = 0, wake = 0, urgent = 0, expire = 0, warn = 0}
local queues = {}

for _, member in ipairs(due) do
  redis.call('ZREM', K_DEADLINES, member)
  local kind, id = string.match(member, '^(%a+):(.+)$')

  if kind == 'offer' then
    local o = hash(k_offer(id))
    if o and o.state == 'pending' then
      local queue, a = return_to_queue(id, o, 'timeout')
      for _, q in ipairs(queues_of(a, queue)) do table.insert(queues, q) end
      counts.offer = counts.offer + 1
    end
  elseif kind == 'wake' then
    table.insert(queues, id)
    counts.wake = counts.wake + 1
  else
    local ix = hash(k_ix(id))
    local state = ix and ix.state
    if kind == 'wrapup' and state == 'wrap_up' then
      local a = agent(ix.agent_id)
      finish(id, ix, a)
      emit(ix.agent_id, {type = 'wrap_up_ended', conversation_id = id, agent_id = ix.agent_id})
      for _, q in ipairs(queues_of(a, nil)) do table.insert(queues, q) end
      counts.wrapup = counts.wrapup + 1
    elseif kind == 'urgent' and (state == 'queued' or state == 'offered') then
      local score = score_of(tonumber(ix.priority or '0'), 1, tonumber(ix.enqueued_at_ms))
      redis.call('HSET', k_ix(id), 'urgent', '1', 'score', fmt(score))
      if state == 'queued' then
        redis.call('ZADD', k_queue(ix.queue), fmt(score), id)
        table.insert(queues, ix.queue)
      end
      counts.urgent = counts.urgent + 1
    elseif kind == 'expire' and (state == 'queued' or state == 'offered') then
      local agent_id = abandon(id, ix, 'window_closed')
      for _, q in ipairs(queues_of(agent(agent_id), nil)) do table.insert(queues, q) end
      counts.expire = counts.expire + 1
    elseif kind == 'warn' and (state == 'assigned' or state == 'held') then
      local expires = tonumber(ix.window_expires_at_ms)
      emit(ix.agent_id, {type = 'window_warning', conversation_id = id, agent_id = ix.agent_id,
        expires_at_ms = expires, minutes_left = math.floor((expires - NOW) / 60000 + 0.5)})
      plan_warning(id, queue_config(ix.queue), expires)
      counts.warn = counts.warn + 1
    end
  end
end

counts.offers = dispatch(queues)
counts.ran = #due
local next_due = redis.call('ZRANGE', K_DEADLINES, 0, 0, 'WITHSCORES')
if #next_due > 0 then counts.next_due_ms = tonumber(next_due[2]) end
return result(counts)
