-- guard_send: the conversion guard's verdict on one send to a number prefix, and its counts.
-- KEYS: prefix base, country base, hold key, prefix index, country index, held index
-- ARGV: prefix, country, short_ms, long_ms, n_short, n_long, min_sends, surge, min_conversion,
--       hold_ms, spend
-- Returns: {'ok', 0} | {'held', ms left} | {'hold', hold_ms, short sends, short approvals}
-- uses: now, buckets
-- Counts live in bucket hashes (fields s sent, a approved, r refused, h held, p spend) under the
-- prefix's and the country's base key: `<base>:s:<n>` for the short window (n_short buckets of
-- short_ms / n_short) and `<base>:l:<n>` for the baseline (n_long buckets). Every key is built from a
-- base that carries the guard's hash tag, so the script stays in one slot. A prefix is held when, with
-- this send, its short window has at least min_sends sends, at least surge times its usual rate (the
-- baseline's sends outside the short window, scaled to the short window) and a conversion (approved /
-- sent) below min_conversion; the send that trips the hold is refused too.
local short_ms, long_ms = tonumber(ARGV[3]), tonumber(ARGV[4])
local n_short, n_long = tonumber(ARGV[5]), tonumber(ARGV[6])
local b = buckets(short_ms, long_ms, n_short, n_long, now)
redis.call('ZADD', KEYS[4], now, ARGV[1])
redis.call('ZADD', KEYS[5], now, ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now - long_ms)
redis.call('ZREMRANGEBYSCORE', KEYS[5], '-inf', now - long_ms)
redis.call('PEXPIRE', KEYS[4], long_ms)
redis.call('PEXPIRE', KEYS[5], long_ms)
local left = redis.call('PTTL', KEYS[3])
if left > 0 then
  bump(b, KEYS[1], 'h', 1)
  bump(b, KEYS[2], 'h', 1)
  return {'held', left}
end
local sent = total(b, KEYS[1], 's', 's', n_short) + 1
local approved = total(b, KEYS[1], 's', 'a', n_short)
local baseline = total(b, KEYS[1], 'l', 's', n_long) + 1 - sent
local usual = math.max(baseline, 0) / math.max(long_ms - short_ms, 1) * short_ms
if sent >= tonumber(ARGV[7]) and sent >= tonumber(ARGV[8]) * usual and approved < tonumber(ARGV[9]) * sent then
  local hold_ms = tonumber(ARGV[10])
  redis.call('SET', KEYS[3], 'held', 'PX', hold_ms)
  redis.call('ZADD', KEYS[6], now + hold_ms, ARGV[1])
  redis.call('ZREMRANGEBYSCORE', KEYS[6], '-inf', now)
  if redis.call('PTTL', KEYS[6]) < hold_ms then redis.call('PEXPIRE', KEYS[6], hold_ms) end
  bump(b, KEYS[1], 'h', 1)
  bump(b, KEYS[2], 'h', 1)
  return {'hold', hold_ms, sent, approved}
end
bump(b, KEYS[1], 's', 1)
bump(b, KEYS[2], 's', 1)
local spend = tonumber(ARGV[11])
if spend > 0 then
  bump(b, KEYS[1], 'p', spend)
  bump(b, KEYS[2], 'p', spend)
end
return {'ok', 0}
