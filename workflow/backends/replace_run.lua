-- Compare-and-set a run: write only if its stored seq is the one the writer read.
-- KEYS[1] the run's hash; ARGV[1] expected seq, ARGV[2] new run data.
-- Returns 1 when stored (seq is now ARGV[1] + 1), 0 when the run is gone or moved on.
local seq = tonumber(redis.call('HGET', KEYS[1], 'seq'))
local expected = tonumber(ARGV[1])
if seq == nil or seq ~= expected then
    return 0
end
redis.call('HSET', KEYS[1], 'seq', expected + 1, 'data', ARGV[2])
return 1
