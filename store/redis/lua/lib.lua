-- Shared functions, prepended to every script by script-loader.ts.
-- A queue is 12 keys, all hash-tagged with the agent so they live in one cluster slot, in this order:
--   ready (zset id -> order score), delayed (zset id -> due ms), leased (zset id -> lease expiry ms),
--   msg (hash id -> message json), state (hash id -> "attempts|score|token"), ttl (zset id -> expiresat ms),
--   dedupe (zset key -> window end ms), dlq (zset id -> dead-lettered ms), dlqmsg (hash id -> json),
--   dlqinfo (hash id -> json), hist (hash id -> json array of attempts), seq (counter for order and lease tokens)
local QUEUE_KEY_COUNT = 12

local function queue_keys(offset)
  return {
    ready = KEYS[offset + 1], delayed = KEYS[offset + 2], leased = KEYS[offset + 3], msg = KEYS[offset + 4],
    state = KEYS[offset + 5], ttl = KEYS[offset + 6], dedupe = KEYS[offset + 7], dlq = KEYS[offset + 8],
    dlqmsg = KEYS[offset + 9], dlqinfo = KEYS[offset + 10], hist = KEYS[offset + 11], seq = KEYS[offset + 12],
  }
end

-- The server's clock, so every sidecar sharing the store agrees on lease and due times.
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- The token field holds the current lease's token, or '-<token>' of the last lease given back by nack.
local function read_state(q, id)
  local raw = redis.call('HGET', q.state, id)
  if not raw then return 0, nil, nil end
  local attempts, score, token = string.match(raw, '^(%d+)|([^|]*)|(-?%d*)$')
  if score == '' then score = nil end
  if token == '' then token = nil end
  return tonumber(attempts), score, token
end

local function write_state(q, id, attempts, score, token)
  redis.call('HSET', q.state, id, attempts .. '|' .. (score or '') .. '|' .. (token or ''))
end

local function append_attempt(q, id, attempt, outcome, now, reason)
  local raw = redis.call('HGET', q.hist, id)
  local history = raw and cjson.decode(raw) or {}
  local record = { attempt = attempt, outcome = outcome, at = now }
  if reason and reason ~= '' then record.reason = reason end
  history[#history + 1] = record
  redis.call('HSET', q.hist, id, cjson.encode(history))
end

local function dead_letter_json(q, id, json, reason, now)
  local raw = redis.call('HGET', q.hist, id)
  local info = { reason = reason, at = now }
  local last_error = nil
  if raw then
    local history = cjson.decode(raw)
    for i = #history, 1, -1 do
      if history[i].reason then last_error = history[i].reason; break end
    end
  end
  if last_error then info.lastError = last_error end
  -- cjson cannot tell an empty array from an empty object, so the history is spliced in as text.
  local encoded = cjson.encode(info)
  encoded = string.sub(encoded, 1, -2) .. ',"attempts":' .. (raw or '[]') .. '}'
  redis.call('ZADD', q.dlq, now, id)
  redis.call('HSET', q.dlqmsg, id, json)
  redis.call('HSET', q.dlqinfo, id, encoded)
  redis.call('HDEL', q.hist, id)
end

-- Dedupe by id needs no entry while a message is queued (HSETNX on msg finds it); once it leaves the queue,
-- its id is remembered for the dedupe window from then on. This keeps a queued message to two index entries.
local function remember_id(q, id, now, window_ms)
  redis.call('ZADD', q.dedupe, now + window_ms, id)
end

local function dead_letter(q, id, reason, now, window_ms)
  local json = redis.call('HGET', q.msg, id)
  if not json then return end
  remember_id(q, id, now, window_ms)
  dead_letter_json(q, id, json, reason, now)
  redis.call('ZREM', q.ready, id)
  redis.call('ZREM', q.delayed, id)
  redis.call('ZREM', q.leased, id)
  redis.call('ZREM', q.ttl, id)
  redis.call('HDEL', q.msg, id)
  redis.call('HDEL', q.state, id)
end

-- Full jitter: uniform in [0, min(max, base * 2^(attempt-1))].
local function backoff_ms(attempt, base, max)
  local ceiling = math.min(max, base * math.pow(2, math.max(0, attempt - 1)))
  return math.floor(math.random() * (ceiling + 1))
end

-- Why a lease no longer holds its message, or nil and the attempt number when it does.
local function lease_problem(q, id, token, now)
  -- Every leased or once-leased message has a state entry; settled and dead-lettered ones have none.
  local attempts, _, current = read_state(q, id)
  if attempts == 0 then return 'LEASE_NOT_FOUND' end
  if current == '-' .. token then return 'LEASE_NOT_FOUND' end
  if current ~= token then
    local issued = tonumber(redis.call('GET', q.seq) or '0')
    if tonumber(token) > issued then return 'LEASE_NOT_FOUND' end
    return 'LEASE_EXPIRED'
  end
  local expiry = redis.call('ZSCORE', q.leased, id)
  if not expiry or tonumber(expiry) <= now then return 'LEASE_EXPIRED' end
  return nil, attempts
end

local function ack(q, id, attempts, now, window_ms)
  remember_id(q, id, now, window_ms)
  redis.call('ZREM', q.leased, id)
  redis.call('ZREM', q.ttl, id)
  redis.call('HDEL', q.msg, id)
  redis.call('HDEL', q.state, id)
  -- A first attempt has no history of failed ones to drop.
  if attempts > 1 then redis.call('HDEL', q.hist, id) end
end

-- Returns 'duplicate', 'expired' or 'queued'; publishes on `channel` when the message is visible at once.
local function enqueue(q, id, json, priority, dedupe_key, window_ms, not_before, expires_at, replay, channel, now)
  redis.call('ZREMRANGEBYSCORE', q.dedupe, '-inf', now)
  if replay == '1' then
    redis.call('ZREM', q.dlq, id)
    redis.call('HDEL', q.dlqmsg, id)
    redis.call('HDEL', q.dlqinfo, id)
  elseif redis.call('ZSCORE', q.dedupe, dedupe_key) then
    return 'duplicate'
  end
  if expires_at > 0 and expires_at <= now then
    if redis.call('HEXISTS', q.msg, id) == 1 then return 'duplicate' end
    redis.call('ZADD', q.dedupe, now + window_ms, dedupe_key)
    dead_letter_json(q, id, json, 'expired', now)
    return 'expired'
  end
  -- HSETNX both stores the message and tells whether this id is already queued.
  if redis.call('HSETNX', q.msg, id, json) == 0 then return 'duplicate' end
  -- An explicit dedupekey needs its entry now: only the id can be found in msg while the message is queued.
  if dedupe_key ~= id then redis.call('ZADD', q.dedupe, now + window_ms, dedupe_key) end
  local seq = redis.call('INCR', q.seq)
  -- Higher priority first, then enqueue order; fits in 14 digits, which Lua prints exactly.
  local score = (9 - priority) * 10000000000000 + seq
  if expires_at > 0 then redis.call('ZADD', q.ttl, expires_at, id) end
  if not_before > now then
    redis.call('ZADD', q.delayed, not_before, id)
    write_state(q, id, 0, score, nil)
  else
    redis.call('ZADD', q.ready, score, id)
    redis.call('PUBLISH', channel, '1')
  end
  return 'queued'
end
