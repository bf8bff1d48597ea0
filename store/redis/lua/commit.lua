#!lua
-- Applies a transaction's writes atomically across the queues it touches (one slot in a cluster).
-- KEYS: 12 queue keys per queue touched, queue after queue
-- ARGV[1]: json array of ops: {kind = 'enqueue', q = queueIndex, id, json, priority, dedupeKey, notBefore,
--          expiresAt, replay} or {kind = 'ack', q = queueIndex, id, token}
-- ARGV[2]: dedupeWindowMs; ARGV[3]: notify channel prefix (the agent name is appended);
-- ARGV[4]: '1' to only check the acks, '0' to check and apply; ARGV[5]: '1' to skip acks whose lease is gone
-- (replaying a logged commit) instead of failing.
-- Returns one result per op ('queued' | 'duplicate' | 'expired' | 'acked' | 'skipped'), or the error
-- LEASE_NOT_FOUND / LEASE_EXPIRED with nothing changed.
local ops = cjson.decode(ARGV[1])
local now = now_ms()
local tolerant = ARGV[5] == '1'
local skip, attempts = {}, {}
for i, op in ipairs(ops) do
  if op.kind == 'ack' then
    local problem, attempt = lease_problem(queue_keys(op.q * QUEUE_KEY_COUNT), op.id, op.token, now)
    if problem then
      if not tolerant then return redis.error_reply(problem) end
      skip[i] = true
    end
    attempts[i] = attempt
  end
end
if ARGV[4] == '1' then return {} end
local results = {}
for i, op in ipairs(ops) do
  local q = queue_keys(op.q * QUEUE_KEY_COUNT)
  if op.kind == 'ack' then
    if skip[i] then results[i] = 'skipped' else ack(q, op.id, attempts[i], now, tonumber(ARGV[2])); results[i] = 'acked' end
  else
    results[i] = enqueue(q, op.id, op.json, op.priority, op.dedupeKey, tonumber(ARGV[2]), op.notBefore,
      op.expiresAt, op.replay, ARGV[3] .. op.agent, now)
  end
end
return results
