#!lua
-- Appends one event to an A2A task's log and replaces the task's form, if nothing else was appended meanwhile.
-- KEYS: task hash (json, seq), event list, event ids hash (event id -> seq), push configs hash
-- ARGV: expectedSeq, eventId, eventJson, taskJson, retentionMs, maxEvents
-- Returns {'appended', seq}, {'duplicate', seq}, {'conflict', 0}, {'full', 0} or {'missing', 0}.
local seen = redis.call('HGET', KEYS[3], ARGV[2])
if seen then return {'duplicate', tonumber(seen)} end
local current = redis.call('HGET', KEYS[1], 'seq')
if not current then return {'missing', 0} end
local seq = tonumber(current)
if seq ~= tonumber(ARGV[1]) then return {'conflict', 0} end
if seq >= tonumber(ARGV[6]) then return {'full', 0} end
seq = seq + 1
redis.call('RPUSH', KEYS[2], ARGV[3])
redis.call('HSET', KEYS[3], ARGV[2], seq)
redis.call('HSET', KEYS[1], 'seq', seq, 'json', ARGV[4])
for _, key in ipairs(KEYS) do
  if redis.call('EXISTS', key) == 1 then redis.call('PEXPIRE', key, ARGV[5]) end
end
return {'appended', seq}
