#!lua
-- Creates an A2A task at seq 0 unless its id exists.
-- KEYS: task hash
-- ARGV: taskJson, retentionMs
-- Returns 1 when created, 0 when the task existed.
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'seq', 0, 'json', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
