-- Record the outcome of dispatching claimed recipients: queued (handed to the outbound
-- stream), blocked (the consent gate or the catalog denied it) or failed.
-- Only a recipient still `dispatching` changes. One that a status webhook already moved on
-- (the message left and its status arrived before this ran) only leaves the inflight set.
-- KEYS[1] states, KEYS[2] details, KEYS[3] counts, KEYS[4] timeline, KEYS[5] inflight
-- ARGV[1] timeline bucket start (ms), then triples: index, state, detail (may be empty)
-- Returns how many recipients changed state.
local changed = 0
for position = 2, #ARGV, 3 do
  local index, state, detail = ARGV[position], ARGV[position + 1], ARGV[position + 2]
  if redis.call('HGET', KEYS[1], index) == 'dispatching' then
    redis.call('HSET', KEYS[1], index, state)
    if detail ~= '' then
      redis.call('HSET', KEYS[2], index, detail)
    end
    redis.call('HINCRBY', KEYS[3], 'now:dispatching', -1)
    redis.call('HINCRBY', KEYS[3], 'dispatched', 1)
    redis.call('HINCRBY', KEYS[3], 'now:' .. state, 1)
    redis.call('HINCRBY', KEYS[3], 'reached:' .. state, 1)
    if state == 'blocked' or state == 'failed' then
      redis.call('HINCRBY', KEYS[3], state .. ':' .. detail, 1)
    end
    redis.call('HINCRBY', KEYS[4], ARGV[1] .. ':' .. state, 1)
    changed = changed + 1
  end
  redis.call('SREM', KEYS[5], index)
end
return changed
