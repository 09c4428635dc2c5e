-- guard_stats: the guard's counts per prefix or per country over the last window.
-- KEYS: index (sorted set of the members seen), held index
-- ARGV: base of the members' keys (the member is appended), window_ms, short_ms, long_ms, n_short,
--       n_long, max members
-- Returns: {member, sent, approved, refused, held, spend, hold_left_ms, ...}, most recent first
-- uses: now, buckets
local window, short_ms, long_ms = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local n_short, n_long = tonumber(ARGV[5]), tonumber(ARGV[6])
local b = buckets(short_ms, long_ms, n_short, n_long, now)
local kind, n = 's', math.min(n_short, math.ceil(window / (short_ms / n_short)))
if window > short_ms then kind, n = 'l', math.min(n_long, math.ceil(window / (long_ms / n_long))) end
local out = {}
local members = redis.call('ZREVRANGEBYSCORE', KEYS[1], '+inf', now - window, 'LIMIT', 0, tonumber(ARGV[7]))
for _, member in ipairs(members) do
  local base = ARGV[1] .. member
  local until_ms = tonumber(redis.call('ZSCORE', KEYS[2], member) or '0')
  out[#out + 1] = member
  out[#out + 1] = total(b, base, kind, 's', n)
  out[#out + 1] = total(b, base, kind, 'a', n)
  out[#out + 1] = total(b, base, kind, 'r', n)
  out[#out + 1] = total(b, base, kind, 'h', n)
  out[#out + 1] = tostring(total(b, base, kind, 'p', n))
  out[#out + 1] = math.max(until_ms - now, 0)
end
return out
