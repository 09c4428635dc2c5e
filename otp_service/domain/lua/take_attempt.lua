-- take_attempt: before a check, find the number's live verification, reserve a slot in its
-- failed-check window and spend one attempt, recording the charge under the request's token.
-- KEYS: cur, fails, token marker
-- ARGV: expected_id or '', limit, window_ms, token, record_prefix, token_ttl_ms
-- Returns: {'ok', id, gen, attempts_left, mode, provider, reference, code_hash, code_length}
--          | {'missing'} | {'budget', wait_ms}
-- The record's key is built here from the id in `cur`, under the same hash tag (record_prefix).
-- Any code is charged, whatever its length: the caller judges the length after the charge, so a
-- wrong length answers like a wrong code. A token seen before (released by a request that gave up
-- with 503, or this same charge replayed) charges nothing and answers 'missing'.
-- uses: now, window
if redis.call('EXISTS', KEYS[3]) == 1 then return {'missing'} end
local vid = redis.call('GET', KEYS[1])
if not vid then return {'missing'} end
if ARGV[1] ~= '' and ARGV[1] ~= vid then return {'missing'} end
local rk = ARGV[5] .. vid
local r = redis.call('HMGET', rk, 'status', 'expires_ms', 'attempts_left', 'code_length', 'gen',
  'mode', 'provider', 'reference', 'code_hash')
if r[1] ~= 'pending' or tonumber(r[2]) <= now or tonumber(r[3]) <= 0 then return {'missing'} end
local wait = reserve(KEYS[2], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4], now)
if wait then return {'budget', wait} end
local left = redis.call('HINCRBY', rk, 'attempts_left', -1)
redis.call('SET', KEYS[3], 'charged:' .. vid .. ':' .. r[5], 'PX', ARGV[6])
return {'ok', vid, r[5], left, r[6], r[7], r[8] or '', r[9] or '', r[4] or '0'}
