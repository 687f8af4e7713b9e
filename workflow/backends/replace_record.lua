-- Replace a record only if it exists (HSETNX covers the create-only case).
-- KEYS[1] the collection's hash; ARGV[1] record id, ARGV[2] record data.
-- Returns 1 when stored, 0 when there was no such record (nothing written).
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then
    return 0
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
