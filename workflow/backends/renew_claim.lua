-- Renew a claim: hold it again for its owner, or take it when nobody holds it.
-- KEYS[1] the claim; ARGV[1] owner, ARGV[2] lease in milliseconds.
-- Returns 1 when the owner holds it now, 0 when someone else does (nothing written).
local holder = redis.call('GET', KEYS[1])
if holder ~= false and holder ~= ARGV[1] then
    return 0
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
