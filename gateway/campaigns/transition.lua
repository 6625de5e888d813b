-- Move a campaign from one of the allowed states to a new one, atomically, so that a pause
-- and a cancel that arrive together cannot both win.
-- KEYS[1] campaign hash
-- ARGV[1] new state, ARGV[2] time field to set (may be empty), ARGV[3] now (ms),
-- ARGV[4..] states the campaign may be in
-- Returns the previous state, or an error reply `wrong_state <state>`.
local current = redis.call('HGET', KEYS[1], 'state')
if not current then
  return redis.error_reply('not_found')
end
for position = 4, #ARGV do
  if current == ARGV[position] then
    redis.call('HSET', KEYS[1], 'state', ARGV[1])
    if ARGV[2] ~= '' then
      redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
    end
    return current
  end
end
return redis.error_reply('wrong_state ' .. current)
