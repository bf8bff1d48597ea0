#!lua flags=allow-oom
-- Settles what time made due, then leases up to max ready messages.
-- KEYS: the 12 queue keys
-- ARGV: max, leaseMs, maxAttempts (0 = no limit: outbox queues), backoffBaseMs, backoffMaxMs, randomSeed,
--       scanLimit, dedupeWindowMs
-- Returns {now, deliveries {id, token, attempt, expiry, json, ...}, expired {id, attempt, ...},
--          deadLettered {id, reason, ...}, nextDueAt (-1 = none)}
local q = queue_keys(0)
local now = now_ms()
local max, lease_ms, max_attempts = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local base, cap, scan, window = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[7]), tonumber(ARGV[8])
math.randomseed(tonumber(ARGV[6]))
local expired, dead = {}, {}

for _, id in ipairs(redis.call('ZRANGEBYSCORE', q.leased, '-inf', now, 'LIMIT', 0, scan)) do
  local attempts, score = read_state(q, id)
  append_attempt(q, id, attempts, 'lease-expired', now, nil)
  expired[#expired + 1] = id
  expired[#expired + 1] = attempts
  if max_attempts > 0 and attempts >= max_attempts then
    dead_letter(q, id, 'max-attempts', now, window)
    dead[#dead + 1] = id
    dead[#dead + 1] = 'max-attempts'
  else
    redis.call('ZREM', q.leased, id)
    redis.call('ZADD', q.delayed, now + backoff_ms(attempts, base, cap), id)
    write_state(q, id, attempts, score, nil)
  end
end

for _, id in ipairs(redis.call('ZRANGEBYSCORE', q.ttl, '-inf', now, 'LIMIT', 0, scan)) do
  -- A leased message keeps its lease; its TTL is checked when it is settled or the lease runs out.
  if not redis.call('ZSCORE', q.leased, id) then
    dead_letter(q, id, 'expired', now, window)
    dead[#dead + 1] = id
    dead[#dead + 1] = 'expired'
  end
end

for _, id in ipairs(redis.call('ZRANGEBYSCORE', q.delayed, '-inf', now, 'LIMIT', 0, scan)) do
  local _, score = read_state(q, id)
  redis.call('ZREM', q.delayed, id)
  redis.call('ZADD', q.ready, score, id)
end

local deliveries = {}
if max > 0 then
  local ready = redis.call('ZPOPMIN', q.ready, max)
  for i = 1, #ready, 2 do
    local id, score = ready[i], ready[i + 1]
    local attempts = read_state(q, id) + 1
    local token = redis.call('INCR', q.seq)
    local expiry = now + lease_ms
    redis.call('ZADD', q.leased, expiry, id)
    write_state(q, id, attempts, score, token)
    deliveries[#deliveries + 1] = id
    deliveries[#deliveries + 1] = tostring(token)
    deliveries[#deliveries + 1] = attempts
    deliveries[#deliveries + 1] = tostring(expiry)
    deliveries[#deliveries + 1] = redis.call('HGET', q.msg, id)
  end
end

-- Only a caller that got nothing needs to know when to look again.
local next_due = -1
if #deliveries > 0 then return { now, deliveries, expired, dead, '-1' } end
local function consider(key, min)
  local first = redis.call('ZRANGEBYSCORE', key, min, '+inf', 'LIMIT', 0, 1, 'WITHSCORES')
  if first[2] then
    local due = tonumber(first[2])
    if next_due < 0 or due < next_due then next_due = due end
  end
end
consider(q.delayed, '-inf')
consider(q.leased, '-inf')
consider(q.ttl, '(' .. now)
return { now, deliveries, expired, dead, tostring(next_due) }
