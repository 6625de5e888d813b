-- Hand claimed campaign recipients to the outbound stream and mark them queued, in one step.
-- The stream entry and the recipient's `queued` state are written together. A dispatcher
-- killed at any point has either handed a recipient off and recorded it, or done neither.
-- The next dispatcher hands off only recipients still `dispatching`, so none twice.
-- KEYS[1] states, KEYS[2] counts, KEYS[3] timeline, KEYS[4] inflight, KEYS[5] outbound stream
-- ARGV[1] timeline bucket start (ms), then per recipient: index, field count n, n field/value
-- pairs flattened (the outbound stream entry)
-- Returns how many recipients were handed off.
local handed_off = 0
local position = 2
while position <= #ARGV do
  local index = ARGV[position]
  local field_count = tonumber(ARGV[position + 1])
  local first, last = position + 2, position + 1 + field_count * 2
  if redis.call('HGET', KEYS[1], index) == 'dispatching' then
    redis.call('XADD', KEYS[5], '*', unpack(ARGV, first, last))
    redis.call('HSET', KEYS[1], index, 'queued')
    redis.call('HINCRBY', KEYS[2], 'now:dispatching', -1)
    redis.call('HINCRBY', KEYS[2], 'dispatched', 1)
    redis.call('HINCRBY', KEYS[2], 'now:queued', 1)
    redis.call('HINCRBY', KEYS[2], 'reached:queued', 1)
    redis.call('HINCRBY', KEYS[3], ARGV[1] .. ':queued', 1)
    handed_off = handed_off + 1
  end
  redis.call('SREM', KEYS[4], index)
  position = last + 1
end
return handed_off
