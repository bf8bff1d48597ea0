#!lua flags=allow-oom
-- Settles several leases of one queue, each as ack-12.lua would, in list order (a lease given twice is
-- LEASE_NOT_FOUND the second time).
-- KEYS: the 12 queue keys
-- ARGV: dedupeWindowMs, then id, token for each lease
-- Returns one entry per lease: 'acked', or 'LEASE_NOT_FOUND' / 'LEASE_EXPIRED' with that lease unchanged.
local q = queue_keys(0)
local now = now_ms()
local window_ms = tonumber(ARGV[1])
local results = {}
for i = 2, #ARGV, 2 do
  local id = ARGV[i]
  local problem, attempts = lease_problem(q, id, ARGV[i + 1], now)
  if problem then
    results[#results + 1] = problem
  else
    ack(q, id, attempts, now, window_ms)
    results[#results + 1] = 'acked'
  end
end
return results
