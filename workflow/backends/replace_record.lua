-- Replace a record only if it exists (HSETNX covers the create-only case) and,
-- when ARGV[3] is given, only if it still holds exactly those bytes.
-- KEYS[1] the collection's hash; ARGV[1] record id, ARGV[2] record data,
-- ARGV[3] (optional) the data the writer read.
-- Returns 1 when stored, 0 when the condition did not hold (nothing written).
local stored = redis.call('HGET', KEYS[1], ARGV[1])
if not stored or (ARGV[3] ~= nil and stored ~= ARGV[3]) then
    return 0
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
