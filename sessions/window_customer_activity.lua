-- Move `last_customer_message_at_ms` forward for a customer event (for example a call).
-- KEYS: 1 conversation hash
-- ARGV: 1 at_ms
-- Returns 1 when the window moved. An older event never moves it back.
local conv = KEYS[1]
if redis.call('EXISTS', conv) == 0 then
  return 0
end
local last_ms = tonumber(redis.call('HGET', conv, 'last_customer_message_at_ms') or '0')
if tonumber(ARGV[1]) <= last_ms then
  return 0
end
redis.call('HSET', conv, 'last_customer_message_at_ms', ARGV[1])
return 1
