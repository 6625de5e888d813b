-- Apply a delivery status (sent, delivered, read, failed) to one campaign recipient, or
-- `blocked` when the gate denied the send right before the call to Meta.
-- Statuses arrive out of order and more than once: a status only moves a recipient forward
-- (queued < sent < delivered < read), `failed` only replaces queued or sent, `blocked` only
-- replaces queued, and a status that skips a step (read without delivered) counts the
-- skipped steps as reached too.
-- KEYS[1] states, KEYS[2] details, KEYS[3] counts, KEYS[4] timeline, KEYS[5] inflight
-- ARGV[1] index, ARGV[2] status, ARGV[3] error code (failed) or reason (blocked), may be empty,
-- ARGV[4] timeline bucket start (ms)
-- Returns 1 when the recipient's state changed.
local rank = {dispatching = 0, queued = 1, sent = 2, delivered = 3, read = 4}
local funnel = {'sent', 'delivered', 'read'}
local index, status = ARGV[1], ARGV[2]
local current = redis.call('HGET', KEYS[1], index)
if not current or rank[current] == nil then
  return 0
end

local new_rank = rank[status]
if status == 'blocked' then
  if rank[current] > 1 then
    return 0
  end
elseif status == 'failed' then
  if rank[current] > 2 then
    return 0
  end
elseif new_rank == nil or new_rank <= rank[current] then
  return 0
end

redis.call('HSET', KEYS[1], index, status)
redis.call('HINCRBY', KEYS[3], 'now:' .. current, -1)
redis.call('HINCRBY', KEYS[3], 'now:' .. status, 1)
if current == 'dispatching' then
  -- The message left before the dispatcher recorded it as queued.
  redis.call('SREM', KEYS[5], index)
  redis.call('HINCRBY', KEYS[3], 'reached:queued', 1)
  redis.call('HINCRBY', KEYS[3], 'dispatched', 1)
end

if status == 'failed' or status == 'blocked' then
  redis.call('HSET', KEYS[2], index, ARGV[3])
  redis.call('HINCRBY', KEYS[3], 'reached:' .. status, 1)
  redis.call('HINCRBY', KEYS[3], status .. ':' .. ARGV[3], 1)
  redis.call('HINCRBY', KEYS[4], ARGV[4] .. ':' .. status, 1)
  return 1
end

for _, step in ipairs(funnel) do
  if rank[step] > rank[current] and rank[step] <= new_rank then
    redis.call('HINCRBY', KEYS[3], 'reached:' .. step, 1)
    redis.call('HINCRBY', KEYS[4], ARGV[4] .. ':' .. step, 1)
  end
end
return 1
