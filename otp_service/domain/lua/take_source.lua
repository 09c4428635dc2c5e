-- take_source: before a check, reserve one failed check for this end user (the source) on this
-- number under the request's token, and say whether it may pass a full per-number window: a source
-- with no failure of its own within that window's length is still judged (so strangers filling the
-- number's window cannot keep the owner out; see check_sources.py).
-- KEYS: source_fails, token marker (the same token take_attempt charges under next)
-- ARGV: limit, window_ms, token, allowance_ms
-- Returns: {'ok', 1 | 0 (may pass a full per-number window)} | {'budget', wait_ms} | {'released', 0}
-- 'released': release_check already gave this token back (its request gave up with 503): nothing
-- taken. The slot is given back by release_check (with this key) or, once judged, by ZREM.
-- uses: now, window
if redis.call('EXISTS', KEYS[2]) == 1 then return {'released', 0} end
local recent = redis.call('ZCOUNT', KEYS[1], now - tonumber(ARGV[4]), '+inf')
local wait = reserve(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3], now)
if wait then return {'budget', wait} end
if recent == 0 then return {'ok', 1} end
return {'ok', 0}
