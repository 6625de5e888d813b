-- Append sealed gate decisions to a business number's decision log (compare-and-set on the head).
--
-- KEYS: 1 decision list, 2 head, then one `relied` list per allowed decision.
-- ARGV: 1 expected head ('' for an empty log), 2 new head,
--       3 the decision JSON entries joined by newlines (JSON from the caller never contains a raw newline),
--       then the seq of each allowed decision, in KEYS order.
-- One joined argument instead of one per entry keeps the client's per-argument cost out of the
-- gate's bulk path.
-- Returns {1, new head} when written, {0, current head} when another writer appended first.

local head = redis.call('GET', KEYS[2]) or ''
if head ~= ARGV[1] then
  return {0, head}
end

local entries = {}
local joined = ARGV[3]
local start = 1
while true do
  local stop = string.find(joined, '\n', start, true)
  if not stop then
    entries[#entries + 1] = string.sub(joined, start)
    break
  end
  entries[#entries + 1] = string.sub(joined, start, stop - 1)
  start = stop + 1
end

-- RPUSH in slices keeps the number of unpacked arguments below Lua's C stack limit.
local slice = 1000
for first = 1, #entries, slice do
  redis.call('RPUSH', KEYS[1], unpack(entries, first, math.min(first + slice - 1, #entries)))
end

for i = 3, #KEYS do
  redis.call('RPUSH', KEYS[i], ARGV[i + 1])
end

redis.call('SET', KEYS[2], ARGV[2])
return {1, ARGV[2]}
