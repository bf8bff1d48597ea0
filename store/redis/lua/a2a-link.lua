#!lua
-- Links an A2A task to its remote task (the bridge), unless it is linked already; the link lives in the task hash.
-- KEYS: task hash
-- ARGV: link json
-- Returns the link stored now, or false when the task is gone.
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
redis.call('HSETNX', KEYS[1], 'remote', ARGV[1])
return redis.call('HGET', KEYS[1], 'remote')
