-- Claim one expiry warning so that it is sent once across all processes.
-- KEYS: 1 conversation hash
-- ARGV: 1 expires_at_ms, 2 minutes before expiry
-- Returns 1 when claimed. A warning at the same or a tighter threshold for the same
-- expiry was sent already when it returns 0; a new expiry (the customer wrote) starts over.
local conv = KEYS[1]
local warned = redis.call('HGET', conv, 'window_warned')
if warned then
  local expires_ms, minutes = string.match(warned, '^(%d+):(%d+)$')
  if expires_ms == ARGV[1] and tonumber(minutes) <= tonumber(ARGV[2]) then
    return 0
  end
end
redis.call('HSET', conv, 'window_warned', ARGV[1] .. ':' .. ARGV[2])
return 1
