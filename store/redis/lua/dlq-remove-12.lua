#!lua flags=allow-oom
-- Removes dead letters.
-- KEYS: the 12 queue keys
-- ARGV: ids
-- Returns how many were removed.
local q = queue_keys(0)
local removed = 0
for _, id in ipairs(ARGV) do
  removed = removed + redis.call('ZREM', q.dlq, id)
  redis.call('HDEL', q.dlqmsg, id)
  redis.call('HDEL', q.dlqinfo, id)
end
return removed
