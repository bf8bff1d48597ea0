#!lua flags=allow-oom
-- Moves a held lease's expiry to now + leaseMs.
-- KEYS: the 12 queue keys
-- ARGV: id, token, leaseMs
-- Returns the new expiry (server ms), or LEASE_NOT_FOUND / LEASE_EXPIRED.
local q = queue_keys(0)
local now = now_ms()
local problem = lease_problem(q, ARGV[1], ARGV[2], now)
if problem then return redis.error_reply(problem) end
local expiry = now + tonumber(ARGV[3])
redis.call('ZADD', q.leased, expiry, ARGV[1])
return expiry
