-- guard_count: count an approval or a refusal for a prefix and its country, or take a send back.
-- KEYS: prefix base, country base, prefix index, country index
-- ARGV: field ('a' approved, 'r' refused, 's' sent, 'p' spend), prefix, country, short_ms, long_ms, n_short,
--       n_long, amount (default 1; a negative one takes a count back)
-- Returns: 1
-- uses: now, buckets, guard
guard_count(guard_at(1, 2, now), ARGV[1], tonumber(ARGV[8] or '1'), now)
return 1
