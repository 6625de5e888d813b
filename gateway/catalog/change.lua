-- Apply one change of a template's status, category or quality unless a newer one is stored.
-- Webhooks arrive at least once and a sync can overlap with them: comparing the change time
-- with the stored `<attribute>_at_ms` keeps an older change from overwriting a newer one.
-- KEYS[1] template hash, KEYS[2] index set, KEYS[3] ids hash
-- ARGV[1] attribute (status, category, quality), ARGV[2] value, ARGV[3] at_ms,
-- ARGV[4] reason (status only, may be empty), ARGV[5] name:language, ARGV[6] template id (may be empty),
-- ARGV[7] name, ARGV[8] language
local at_field = ARGV[1] .. '_at_ms'
local stored_at = tonumber(redis.call('HGET', KEYS[1], at_field) or '-1')
if tonumber(ARGV[3]) < stored_at then
  return 0
end

redis.call('HSET', KEYS[1], ARGV[1], ARGV[2], at_field, ARGV[3], 'name', ARGV[7], 'language', ARGV[8])
if ARGV[1] == 'status' then
  redis.call('HSET', KEYS[1], 'reason', ARGV[4])
end

redis.call('SADD', KEYS[2], ARGV[5])
if ARGV[6] ~= '' then
  redis.call('HSET', KEYS[1], 'id', ARGV[6])
  redis.call('HSET', KEYS[3], ARGV[6], ARGV[5])
end
return 1
