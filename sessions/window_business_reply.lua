-- Record the business's first answer after the newest referral (free entry point window).
-- KEYS: 1 conversation hash
-- ARGV: 1 at_ms, 2 reply_within_ms
-- Returns 1 when this answer opened the free entry point window, otherwise 0.
-- Only the first answer after a referral counts: later answers must not move the window.
local conv = KEYS[1]
local at_ms = tonumber(ARGV[1])
if redis.call('EXISTS', conv) == 0 then
  return 0
end

local referral_ms = tonumber(redis.call('HGET', conv, 'referral_at_ms') or '')
if referral_ms == nil or at_ms < referral_ms then
  return 0
end

-- An answer recorded before the newest referral belongs to an older ad click.
local reply_ms = tonumber(redis.call('HGET', conv, 'first_business_reply_at_ms') or '')
if reply_ms ~= nil and reply_ms >= referral_ms then
  return 0
end

redis.call('HSET', conv, 'first_business_reply_at_ms', at_ms)
if at_ms - referral_ms <= tonumber(ARGV[2]) then
  return 1
end
return 0
