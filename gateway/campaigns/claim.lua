-- Claim the next recipients of a running campaign for dispatch.
-- Advancing the cursor and marking the recipients `dispatching` (and in the inflight set) is
-- one step, so two dispatchers never claim the same recipient. A dispatcher that dies after
-- the claim leaves the recipients in the inflight set for the next one to finish.
-- KEYS[1] campaign hash, KEYS[2] states hash, KEYS[3] inflight set, KEYS[4] counts hash
-- ARGV[1] maximum number of recipients to claim
-- Returns the claimed indices; an empty list when the campaign is not running or fully claimed.
if redis.call('HGET', KEYS[1], 'state') ~= 'running' then
  return {}
end

local next_index = tonumber(redis.call('HGET', KEYS[1], 'next_index') or '0')
local total = tonumber(redis.call('HGET', KEYS[1], 'total') or '0')
local last = math.min(next_index + tonumber(ARGV[1]), total) - 1
local claimed = {}
for index = next_index, last do
  redis.call('HSET', KEYS[2], index, 'dispatching')
  redis.call('SADD', KEYS[3], index)
  claimed[#claimed + 1] = index
end

if #claimed > 0 then
  redis.call('HSET', KEYS[1], 'next_index', last + 1)
  redis.call('HINCRBY', KEYS[4], 'now:dispatching', #claimed)
end
return claimed
