-- Append sealed gate decisions to a business number's decision log (compare-and-set on the head).
--
-- KEYS: 1 decision list, 2 head, then one `relied` list per allowed decision.
-- ARGV: 1 expected head ('' for an empty log), 2 new head, 3 decision count n,
--       4 .. 3+n decision JSON entries, then the seq of each allowed decision, in KEYS order.
-- Returns {1, new head} when written, {0, current head} when another writer appended first.

local head = redis.call('GET', KEYS[2]) or ''
if head ~= ARGV[1] then
  return {0, head}
end

local count = tonumber(ARGV[3])
-- RPUSH in slices keeps the number of unpacked arguments below Lua's C stack limit.
local slice = 1000
for first = 4, 3 + count, slice do
  local last = math.min(first + slice - 1, 3 + count)
  redis.call('RPUSH', KEYS[1], unpack(ARGV, first, last))
end

for i = 3, #KEYS do
  redis.call('RPUSH', KEYS[i], ARGV[3 + count + i - 2])
end

redis.call('SET', KEYS[2], ARGV[2])
return {1, ARGV[2]}
