-- Store a new run at seq 0, unless a run with that id exists already.
-- KEYS[1] the run's hash, KEYS[2] the set of run ids; ARGV[1] run id, ARGV[2] run data.
-- Returns 1 when stored, 0 when the id was taken (nothing written).
if redis.call('EXISTS', KEYS[1]) == 1 then
    return 0
end
redis.call('HSET', KEYS[1], 'seq', 0, 'data', ARGV[2])
redis.call('SADD', KEYS[2], ARGV[1])
return 1
