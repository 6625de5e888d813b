-- Move delayed sends that are due back onto the outbound stream.
-- KEYS: 1 delayed sorted set, 2 delayed jobs hash, 3 outbound stream (one hash tag)
-- ARGV: 1 now_ms, 2 max entries to move
-- Returns the number moved. One script, so that two senders never move one send twice.
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, message_id in ipairs(due) do
  local raw = redis.call('HGET', KEYS[2], message_id)
  if raw then
    local fields = cjson.decode(raw)
    local flat = {}
    for name, value in pairs(fields) do
      flat[#flat + 1] = name
      flat[#flat + 1] = value
    end
    redis.call('XADD', KEYS[3], '*', unpack(flat))
  end
  redis.call('ZREM', KEYS[1], message_id)
  redis.call('HDEL', KEYS[2], message_id)
end
return #due
