#!lua
-- Adds one subscription and its publish index entry, within the agent's caps.
-- KEYS: all ("agent pattern"), the agent's patterns, the agent's wildcard patterns, exact:<topic> or wild
-- ARGV: member ("agent pattern"), pattern, agent, wildcard ('1' or '0'), max per agent, max wildcard per agent
-- Returns 'existed', 'added', 'limit' or 'wildcard-limit'.
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 then return 'existed' end
if redis.call('SCARD', KEYS[2]) >= tonumber(ARGV[5]) then return 'limit' end
local wildcard = ARGV[4] == '1'
if wildcard and redis.call('SCARD', KEYS[3]) >= tonumber(ARGV[6]) then return 'wildcard-limit' end
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('SADD', KEYS[2], ARGV[2])
if wildcard then
  redis.call('SADD', KEYS[3], ARGV[2])
  redis.call('SADD', KEYS[4], ARGV[1])
else
  redis.call('SADD', KEYS[4], ARGV[3])
end
return 'added'
