-- Find the message a status belongs to, or park the status until the message is known.
-- KEYS: 1 wamid link, 2 pending set (one hash tag)
-- ARGV: 1 status event JSON, 2 pending TTL in ms
-- Returns the link ("<conversation_id> <message_key>") or false when parked. One script, so
-- that a link written between the lookup and the parking cannot strand the status.
local link = redis.call('GET', KEYS[1])
if link then
  return link
end
redis.call('SADD', KEYS[2], ARGV[1])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return false
