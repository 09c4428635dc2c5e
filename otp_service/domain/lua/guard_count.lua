-- guard_count: count an approval or a refusal for a prefix and its country, or take a send back.
-- KEYS: prefix base, country base, prefix index, country index
-- ARGV: field ('a' approved, 'r' refused, 's' sent, 'p' spend), prefix, country, short_ms, long_ms, n_short,
--       n_long, amount (default 1; a negative one takes a count back)
-- Returns: 1
-- uses: now, buckets
local b = buckets(tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7]), now)
local amount = tonumber(ARGV[8] or '1')
bump(b, KEYS[1], ARGV[1], amount)
bump(b, KEYS[2], ARGV[1], amount)
redis.call('ZADD', KEYS[3], now, ARGV[2])
redis.call('ZADD', KEYS[4], now, ARGV[3])
redis.call('PEXPIRE', KEYS[3], tonumber(ARGV[5]))
redis.call('PEXPIRE', KEYS[4], tonumber(ARGV[5]))
return 1
