-- Store one inbound customer message and update its conversation, atomically.
-- KEYS: 1 conversation hash, 2 history sorted set, 3 message hash (all one hash tag)
-- ARGV: 1 conversation_id, 2 wamid, 3 timestamp_ms, 4 now_ms, 5 phone_number_id,
--       6 customer_id, 7 wa_id, 8 user_id, 9 opens_window ("1"/"0"), 10 referral JSON or "",
--       11 message fields as a JSON object of strings
-- Returns {is_new, conversation_created, processed}. An existing message is left untouched,
-- so a redelivered wamid has no second effect; `processed` tells the caller whether the
-- follow-up steps (routing, hooks) already ran for it.
local conv, history, message = KEYS[1], KEYS[2], KEYS[3]
local timestamp_ms = tonumber(ARGV[3])

if redis.call('EXISTS', message) == 1 then
  return {0, 0, redis.call('HGET', message, 'processed') or '0'}
end

local fields = cjson.decode(ARGV[11])
for name, value in pairs(fields) do
  redis.call('HSET', message, name, value)
end
redis.call('ZADD', history, timestamp_ms, ARGV[2])

local created = 0
if redis.call('HSETNX', conv, 'id', ARGV[1]) == 1 then
  created = 1
  redis.call('HSET', conv, 'phone_number_id', ARGV[5], 'customer_id', ARGV[6],
             'created_at_ms', ARGV[4])
end
if ARGV[7] ~= '' then redis.call('HSET', conv, 'wa_id', ARGV[7]) end
if ARGV[8] ~= '' then redis.call('HSET', conv, 'user_id', ARGV[8]) end

-- The window runs from Meta's timestamp of the newest message: a late or out-of-order
-- delivery of an older message must never move it back.
if ARGV[9] == '1' then
  local last = tonumber(redis.call('HGET', conv, 'last_customer_message_at_ms') or '0')
  if timestamp_ms > last then
    redis.call('HSET', conv, 'last_customer_message_at_ms', timestamp_ms)
  end
end
if ARGV[10] ~= '' then
  local last_referral = tonumber(redis.call('HGET', conv, 'referral_at_ms') or '0')
  if timestamp_ms > last_referral then
    redis.call('HSET', conv, 'referral_at_ms', timestamp_ms, 'referral', ARGV[10])
  end
end
redis.call('HSET', conv, 'updated_at_ms', ARGV[4])
return {1, created, '0'}
