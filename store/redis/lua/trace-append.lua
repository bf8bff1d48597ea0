#!lua
-- Appends the trace events of many messages, and their correlation ids, in one call (standalone Redis only: the
-- keys are in many cluster slots). Each list and set (re)starts its retention when written.
-- KEYS: the trace list of each message, then the correlation set of each correlation id
-- ARGV: retentionMs, number of trace lists, then for each key in KEYS order: the count of its entries, the entries
local retention = ARGV[1]
local lists = tonumber(ARGV[2])
local at = 3
-- unpack() has a stack limit, so long runs go in slices.
local function write(command, key, first, count)
  local done = 0
  while done < count do
    local take = math.min(500, count - done)
    redis.call(command, key, unpack(ARGV, first + done, first + done + take - 1))
    done = done + take
  end
  redis.call('PEXPIRE', key, retention)
end
for index, key in ipairs(KEYS) do
  local count = tonumber(ARGV[at])
  write(index <= lists and 'RPUSH' or 'SADD', key, at + 1, count)
  at = at + 1 + count
end
return #KEYS
