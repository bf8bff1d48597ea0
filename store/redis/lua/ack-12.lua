#!lua flags=allow-oom
-- Settles a lease by removing its message.
-- KEYS: the 12 queue keys
-- ARGV: id, token, dedupeWindowMs
-- Returns 1, or the error LEASE_NOT_FOUND / LEASE_EXPIRED with nothing changed.
local q = queue_keys(0)
local now = now_ms()
local problem, attempts = lease_problem(q, ARGV[1], ARGV[2], now)
if problem then return redis.error_reply(problem) end
ack(q, ARGV[1], attempts, now, tonumber(ARGV[3]))
return 1
