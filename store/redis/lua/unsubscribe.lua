#!lua flags=allow-oom
-- Removes one subscription and its publish index entry.
-- KEYS and ARGV as subscribe.lua (the caps are not needed). Returns 1 if it was there, else 0.
if redis.call('SREM', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('SREM', KEYS[2], ARGV[2])
redis.call('SREM', KEYS[3], ARGV[2])
if ARGV[4] == '1' then
  redis.call('SREM', KEYS[4], ARGV[1])
else
  redis.call('SREM', KEYS[4], ARGV[3])
end
return 1
