-- guard_count: count one approval or refusal for a prefix and its country (conversion guard stats).
-- KEYS: prefix base, country base, prefix index, country index
-- ARGV: field ('a' approved, 'r' refused), prefix, country, short_ms, long_ms, n_short, n_long
-- Returns: 1
-- uses: now, buckets
local b = buckets(tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7]), now)
bump(b, KEYS[1], ARGV[1], 1)
bump(b, KEYS[2], ARGV[1], 1)
redis.call('ZADD', KEYS[3], now, ARGV[2])
redis.call('ZADD', KEYS[4], now, ARGV[3])
redis.call('PEXPIRE', KEYS[3], tonumber(ARGV[5]))
redis.call('PEXPIRE', KEYS[4], tonumber(ARGV[5]))
return 1
