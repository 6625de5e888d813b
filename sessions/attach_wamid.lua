-- Link a wamid to its message and return the statuses that arrived before the link.
-- KEYS: 1 wamid link, 2 pending set (one hash tag)
-- ARGV: 1 link value
-- The caller applies each returned status and then removes it from the pending set, so a
-- crash in between leaves it pending instead of losing it.
redis.call('SET', KEYS[1], ARGV[1])
return redis.call('SMEMBERS', KEYS[2])
