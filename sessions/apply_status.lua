-- Apply one status event to a stored message, never downgrading it.
-- KEYS: 1 message hash, 2 message status list (one hash tag)
-- ARGV: 1 status, 2 rank, 3 timestamp_ms, 4 error_code or "", 5 error_title, 6 error_message,
--       7 status event JSON
-- Returns -1 when the message is unknown, 0 for a status already applied, 1 when applied.
local message, statuses = KEYS[1], KEYS[2]
if redis.call('EXISTS', message) == 0 then
  return -1
end
-- One marker per status name: Meta delivers the same status more than once.
if redis.call('HSETNX', message, 'seen:' .. ARGV[1], ARGV[3]) == 0 then
  return 0
end
redis.call('RPUSH', statuses, ARGV[7])

local current = tonumber(redis.call('HGET', message, 'status_rank') or '-1')
if tonumber(ARGV[2]) > current then
  redis.call('HSET', message, 'status', ARGV[1], 'status_rank', ARGV[2], 'status_at_ms', ARGV[3])
end
if ARGV[4] ~= '' then
  redis.call('HSET', message, 'error_code', ARGV[4], 'error_title', ARGV[5],
             'error_message', ARGV[6])
end
return 1
