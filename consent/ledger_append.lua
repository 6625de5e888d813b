-- Append sealed events to a business number's ledger and update the derived state, atomically.
--
-- The caller computed the hash chain from the head it read. If another writer appended in the
-- meantime the head differs, nothing is written, and the caller re-reads and retries
-- (compare-and-set), so two writers can never fork the chain.
--
-- KEYS: 1 ledger list, 2 head, 3 event index hash, 4 outbox stream, 5 idempotency key,
--       then per event: state hash, personal hash, subject events list.
-- ARGV: 1 expected head ('' for an empty chain), 2 new head, 3 idempotency value ('' for none),
--       4 '1' to add each event to the outbox, 5 event count, 6 lifetime of the idempotency key (ms),
--       then per event: entry JSON, event id, seq, state field, state value, personal JSON ('' for none).
-- Returns {1, new head} when written, {0, current head} on a conflict, {2, stored value} for a
-- repeated idempotency key.

if ARGV[3] ~= '' then
  local seen = redis.call('GET', KEYS[5])
  if seen then
    return {2, seen}
  end
end

local head = redis.call('GET', KEYS[2]) or ''
if head ~= ARGV[1] then
  return {0, head}
end

local count = tonumber(ARGV[5])
for i = 0, count - 1 do
  local a = 7 + i * 6
  local k = 6 + i * 3
  redis.call('RPUSH', KEYS[1], ARGV[a])
  redis.call('HSET', KEYS[3], ARGV[a + 1], ARGV[a + 2])
  redis.call('HSET', KEYS[k], ARGV[a + 3], ARGV[a + 4])
  if ARGV[a + 5] ~= '' then
    redis.call('HSET', KEYS[k + 1], ARGV[a + 1], ARGV[a + 5])
  end
  redis.call('RPUSH', KEYS[k + 2], ARGV[a + 2])
  if ARGV[4] == '1' then
    redis.call('XADD', KEYS[4], '*', 'event_id', ARGV[a + 1], 'seq', ARGV[a + 2])
  end
end

redis.call('SET', KEYS[2], ARGV[2])
if ARGV[3] ~= '' then
  redis.call('SET', KEYS[5], ARGV[3], 'PX', ARGV[6])
end
return {1, ARGV[2]}
