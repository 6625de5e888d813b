-- Take, renew or release the lease that makes one process the dispatcher of a campaign.
-- KEYS[1] lease key
-- ARGV[1] owner, ARGV[2] lease time (ms), ARGV[3] `take` or `release`
-- Returns 1 when the caller holds the lease (take) or released it (release), else 0.
local holder = redis.call('GET', KEYS[1])
if ARGV[3] == 'release' then
  if holder == ARGV[1] then
    redis.call('DEL', KEYS[1])
    return 1
  end
  return 0
end

if holder and holder ~= ARGV[1] then
  return 0
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
