-- Take one token from a token bucket shared by all processes.
-- KEYS: 1 bucket hash (tokens, ts_ms)
-- ARGV: 1 refill rate in tokens per ms, 2 capacity (burst), 3 now_ms, 4 TTL in ms
-- Returns 0 when a token was taken, otherwise the ms to wait before one is available.
-- Nothing is taken on a refusal, so a caller that waits and asks again is not charged twice.
local bucket = KEYS[1]
local rate = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local now_ms = tonumber(ARGV[3])

local tokens = tonumber(redis.call('HGET', bucket, 'tokens') or capacity)
local ts_ms = tonumber(redis.call('HGET', bucket, 'ts_ms') or now_ms)
-- Clocks of several processes differ slightly: time in the bucket only moves forward.
if now_ms > ts_ms then
  tokens = math.min(capacity, tokens + (now_ms - ts_ms) * rate)
  ts_ms = now_ms
end

local wait_ms = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  wait_ms = math.ceil((1 - tokens) / rate)
end
redis.call('HSET', bucket, 'tokens', tostring(tokens), 'ts_ms', ts_ms)
redis.call('PEXPIRE', bucket, ARGV[4])
return wait_ms
