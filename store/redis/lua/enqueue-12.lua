#!lua
-- Queues one message for one agent, with dedupe.
-- KEYS: the 12 queue keys (see lib.lua)
-- ARGV: id, json, priority, dedupeKey, dedupeWindowMs, notBeforeMs (0 = none), expiresAtMs (0 = none),
--       replay ('1' = from the DLQ: skip dedupe, drop the dead letter), notifyChannel
-- Returns 'queued', 'duplicate' or 'expired' (accepted straight into the DLQ).
local q = queue_keys(0)
return enqueue(q, ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4], tonumber(ARGV[5]), tonumber(ARGV[6]),
  tonumber(ARGV[7]), ARGV[8], ARGV[9], now_ms())
