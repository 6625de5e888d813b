-- Read one field of many per-contact state hashes in one round trip (the gate's bulk read).
-- KEYS: state hashes. ARGV: 1 field (`<channel>:<purpose>`). Returns the values in KEYS order,
-- false where a hash or field does not exist.
local values = {}
for i = 1, #KEYS do
  values[i] = redis.call('HGET', KEYS[i], ARGV[1])
end
return values
