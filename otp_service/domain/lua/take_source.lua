-- take_source: before a check, reserve one failed check for this end user (the source) on this
-- number, and say whether it may pass a full per-number window: a source with no failure of its own
-- within that window's length is still judged (so strangers filling the number's window cannot
-- keep the owner out; see check_sources.py).
-- KEYS: source_fails
-- ARGV: limit, window_ms, token, allowance_ms
-- Returns: {'ok', 1 | 0 (may pass a full per-number window)} | {'budget', wait_ms}
-- uses: now, window
local recent = redis.call('ZCOUNT', KEYS[1], now - tonumber(ARGV[4]), '+inf')
local wait = reserve(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3], now)
if wait then return {'budget', wait} end
if recent == 0 then return {'ok', 1} end
return {'ok', 0}
