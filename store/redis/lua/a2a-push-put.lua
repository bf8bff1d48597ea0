#!lua
-- Stores a push config of an A2A task, at most ARGV[3] per task; it lives as long as the task.
-- KEYS: task hash, push configs hash
-- ARGV: config id, config json, max configs
-- Returns 'stored', 'full' or 'missing'.
if redis.call('EXISTS', KEYS[1]) == 0 then return 'missing' end
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 0 and redis.call('HLEN', KEYS[2]) >= tonumber(ARGV[3]) then
  return 'full'
end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('PEXPIRE', KEYS[2], redis.call('PTTL', KEYS[1]))
return 'stored'
