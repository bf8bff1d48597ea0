#!lua flags=allow-oom
-- Gives a lease back: redelivery after a delay or backoff, or the DLQ.
-- KEYS: the 12 queue keys
-- ARGV: id, token, delayMs (-1 = backoff), reason, deadLetter (a dead-letter reason to dead-letter now, or ''),
--       maxAttempts (0 = no limit: outbox queues), backoffBaseMs,
--       backoffMaxMs, randomSeed, notifyChannel, dedupeWindowMs
-- Returns {outcome ('retry' | 'dead-lettered'), attempt, redeliverAt or dead-letter reason, now}.
local q = queue_keys(0)
local id = ARGV[1]
local now = now_ms()
local problem = lease_problem(q, id, ARGV[2], now)
if problem then return redis.error_reply(problem) end
math.randomseed(tonumber(ARGV[9]))
local attempts, score, token = read_state(q, id)
append_attempt(q, id, attempts, 'nacked', now, ARGV[4])
local expires_at = redis.call('ZSCORE', q.ttl, id)
local reason = nil
if ARGV[5] ~= '' then reason = ARGV[5]
elseif expires_at and tonumber(expires_at) <= now then reason = 'expired'
elseif tonumber(ARGV[6]) > 0 and attempts >= tonumber(ARGV[6]) then reason = 'max-attempts' end
if reason then
  dead_letter(q, id, reason, now, tonumber(ARGV[11]))
  return { 'dead-lettered', attempts, reason, now }
end
local delay = tonumber(ARGV[3])
if delay < 0 then delay = backoff_ms(attempts, tonumber(ARGV[7]), tonumber(ARGV[8])) end
redis.call('ZREM', q.leased, id)
write_state(q, id, attempts, score, '-' .. token)
if delay == 0 then
  redis.call('ZADD', q.ready, score, id)
else
  redis.call('ZADD', q.delayed, now + delay, id)
end
-- Wakes waiting receivers either to take it now or to re-arm their timer for the new due time.
redis.call('PUBLISH', ARGV[10], '1')
return { 'retry', attempts, tostring(now + delay), now }
