-- begin_send: before a send, check the number's cooldown and in-flight lock, reserve a slot in its
-- send window and take the lock.
-- KEYS: cur, sends, cooldown, lock, token marker
-- ARGV: limit, window_ms, token, lock_ms
-- Returns: {'ok', now_ms, current_id or ''} | {'cooldown' | 'busy' | 'limit', wait_ms} | {'released', 0}
-- 'released': abort_send already gave this token back (its request gave up with 503): nothing taken.
-- uses: now, window
if redis.call('EXISTS', KEYS[5]) == 1 then return {'released', 0} end
local cd = redis.call('PTTL', KEYS[3])
if cd > 0 then return {'cooldown', cd} end
local lk = redis.call('PTTL', KEYS[4])
if lk > 0 then return {'busy', lk} end
local wait = reserve(KEYS[2], tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3], now)
if wait then return {'limit', wait} end
redis.call('SET', KEYS[4], ARGV[3], 'PX', ARGV[4])
return {'ok', now, redis.call('GET', KEYS[1]) or ''}
