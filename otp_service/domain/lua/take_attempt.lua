-- take_attempt: before a check, find the number's live verification, refuse a code of the wrong
-- length for free, reserve a slot in the failed-check window and spend one attempt.
-- KEYS: cur, fails
-- ARGV: expected_id or '', code_length, limit, window_ms, token, record_prefix
-- Returns: {'ok', id, gen, attempts_left, mode, provider, reference, code_hash} | {'missing'}
--          | {'length', stored_code_length} | {'budget', wait_ms}
-- The record's key is built here from the id in `cur`, under the same hash tag (record_prefix).
-- uses: now, window
local vid = redis.call('GET', KEYS[1])
if not vid then return {'missing'} end
if ARGV[1] ~= '' and ARGV[1] ~= vid then return {'missing'} end
local rk = ARGV[6] .. vid
local r = redis.call('HMGET', rk, 'status', 'expires_ms', 'attempts_left', 'code_length', 'gen',
  'mode', 'provider', 'reference', 'code_hash')
if r[1] ~= 'pending' or tonumber(r[2]) <= now or tonumber(r[3]) <= 0 then return {'missing'} end
if tonumber(r[4]) ~= tonumber(ARGV[2]) then return {'length', r[4]} end
local wait = reserve(KEYS[2], tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5], now)
if wait then return {'budget', wait} end
local left = redis.call('HINCRBY', rk, 'attempts_left', -1)
return {'ok', vid, r[5], left, r[6], r[7], r[8] or '', r[9] or ''}
