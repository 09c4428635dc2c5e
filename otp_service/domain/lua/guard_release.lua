-- guard_release: an admin releases a held prefix. Its short-window sends and approvals are cleared
-- too, or the very next send would find the same numbers and hold it again.
-- KEYS: hold key, prefix base, held index
-- ARGV: prefix, short_ms, long_ms, n_short, n_long
-- Returns: 1 when the prefix was held, else 0
-- uses: now, buckets
local was = redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[3], ARGV[1])
local b = buckets(tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), now)
for i = 0, tonumber(ARGV[4]) - 1 do
  redis.call('HDEL', KEYS[2] .. ':s:' .. (b.s - i), 's', 'a')
end
return was
