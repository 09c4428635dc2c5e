-- guard: the conversion guard's counts and its verdict on a send (after `buckets`). Counts live in
-- bucket hashes (fields s sent, a approved, r refused, h held, p spend) under the prefix's and the
-- country's base key: `<base>:s:<n>` for the short window (n_short buckets of short_ms / n_short) and
-- `<base>:l:<n>` for the baseline (n_long buckets). Every key is built from a base that carries the
-- guard's hash tag, so a script stays in one slot.
-- `guard_at(k, a, now)`: the send's prefix and country: KEYS[k..k+3] prefix base, country base, prefix
--   index, country index; ARGV[a..a+5] prefix, country, short_ms, long_ms, n_short, n_long.
-- `guard_count(g, field, amount, now)`: adds amount (a negative one takes a count back) to a field of
--   the prefix's and the country's current buckets, and marks both seen.
-- `guard_send(g, hold_key, held_index, a, now)`: counts the send and judges it, with ARGV[a..a+4]
--   min_sends, surge, min_conversion, hold_ms, spend. A prefix is held when, with this send, its short
--   window has at least min_sends sends, at least surge times its usual rate (the baseline's sends
--   outside the short window, scaled to the short window) and a conversion (approved / sent) below
--   min_conversion; the send that trips the hold is refused too. Returns {'ok', 0} |
--   {'held', ms left} (held already) | {'hold', hold_ms, short sends, short approvals} (this send held it).
local function guard_at(k, a, now)
  local short_ms, long_ms = tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3])
  local n_short, n_long = tonumber(ARGV[a + 4]), tonumber(ARGV[a + 5])
  return {
    prefix_base = KEYS[k], country_base = KEYS[k + 1], prefix_index = KEYS[k + 2], country_index = KEYS[k + 3],
    prefix = ARGV[a], country = ARGV[a + 1], short_ms = short_ms, long_ms = long_ms,
    n_short = n_short, n_long = n_long, b = buckets(short_ms, long_ms, n_short, n_long, now),
  }
end
local function guard_count(g, field, amount, now)
  bump(g.b, g.prefix_base, field, amount)
  bump(g.b, g.country_base, field, amount)
  redis.call('ZADD', g.prefix_index, now, g.prefix)
  redis.call('ZADD', g.country_index, now, g.country)
  redis.call('PEXPIRE', g.prefix_index, g.long_ms)
  redis.call('PEXPIRE', g.country_index, g.long_ms)
end
local function guard_send(g, hold_key, held_index, a, now)
  local b = g.b
  redis.call('ZADD', g.prefix_index, now, g.prefix)
  redis.call('ZADD', g.country_index, now, g.country)
  redis.call('ZREMRANGEBYSCORE', g.prefix_index, '-inf', now - g.long_ms)
  redis.call('ZREMRANGEBYSCORE', g.country_index, '-inf', now - g.long_ms)
  redis.call('PEXPIRE', g.prefix_index, g.long_ms)
  redis.call('PEXPIRE', g.country_index, g.long_ms)
  local left = redis.call('PTTL', hold_key)
  if left > 0 then
    bump(b, g.prefix_base, 'h', 1)
    bump(b, g.country_base, 'h', 1)
    return {'held', left}
  end
  local sent = total(b, g.prefix_base, 's', 's', g.n_short) + 1
  local approved = total(b, g.prefix_base, 's', 'a', g.n_short)
  local baseline = total(b, g.prefix_base, 'l', 's', g.n_long) + 1 - sent
  local usual = math.max(baseline, 0) / math.max(g.long_ms - g.short_ms, 1) * g.short_ms
  if sent >= tonumber(ARGV[a]) and sent >= tonumber(ARGV[a + 1]) * usual and approved < tonumber(ARGV[a + 2]) * sent then
    local hold_ms = tonumber(ARGV[a + 3])
    redis.call('SET', hold_key, 'held', 'PX', hold_ms)
    redis.call('ZADD', held_index, now + hold_ms, g.prefix)
    redis.call('ZREMRANGEBYSCORE', held_index, '-inf', now)
    if redis.call('PTTL', held_index) < hold_ms then redis.call('PEXPIRE', held_index, hold_ms) end
    bump(b, g.prefix_base, 'h', 1)
    bump(b, g.country_base, 'h', 1)
    return {'hold', hold_ms, sent, approved}
  end
  bump(b, g.prefix_base, 's', 1)
  bump(b, g.country_base, 's', 1)
  local spend = tonumber(ARGV[a + 4])
  if spend > 0 then
    bump(b, g.prefix_base, 'p', spend)
    bump(b, g.country_base, 'p', spend)
  end
  return {'ok', 0}
end
