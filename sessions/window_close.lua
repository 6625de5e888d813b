-- Close the service window because Meta rejected a send with 131047.
-- KEYS: 1 conversation hash
-- ARGV: 1 sent_at_ms (when the rejected send was made), 2 now_ms
-- Returns 1 when closed, 0 when a customer message newer than the send reopened it.
local conv = KEYS[1]
if redis.call('EXISTS', conv) == 0 then
  return 0
end

local last_ms = tonumber(redis.call('HGET', conv, 'last_customer_message_at_ms') or '0')
if last_ms > tonumber(ARGV[1]) then
  return 0
end

-- The closing holds while `last_customer_message_at_ms` stays at this value.
redis.call('HSET', conv, 'window_closed_for_ms', last_ms, 'window_closed_at_ms', ARGV[2])
return 1
