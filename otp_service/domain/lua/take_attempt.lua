-- take_attempt: before a check, charge it under the request's token, in one call: the end user's
-- (the source's) failure slot on this number when KEYS[4] is given (check_sources.py), then the
-- number's live verification: a slot in its failed-check window and one attempt.
-- KEYS: cur, fails, token marker, [source_fails]
-- ARGV: expected_id or '', limit, window_ms, token, record_prefix, token_ttl_ms,
--       [source_limit, source_window_ms]
-- Returns: {'ok', id, gen, attempts_left, mode, provider, reference, code_hash, code_length}
--          | {'missing'} | {'budget', wait_ms} | {'source_budget', wait_ms} | {'released'}
-- The record's key is built here from the id in `cur`, under the same hash tag (record_prefix).
-- Any code is charged, whatever its length: the caller judges the length after the charge, so a
-- wrong length answers like a wrong code. A token seen before (released by a request that gave up
-- with 503, or this same charge replayed) charges nothing: 'released' when a source is given (the
-- caller answers 503), else 'missing'.
-- The source: over its own budget it is refused ('source_budget') and nothing is taken. With no
-- failure of its own within the number's window length (window_ms) it has an allowance: the
-- number's window limit does not hold for it (its slot there is still recorded). Its slot is only
-- taken with the attempt: a check never judged ('missing', 'budget') is no failure of its source.
-- uses: now, window
local source = KEYS[4]
if redis.call('EXISTS', KEYS[3]) == 1 then
  if source then return {'released'} end
  return {'missing'}
end
local limit, window = tonumber(ARGV[2]), tonumber(ARGV[3])
local source_window
if source then
  if redis.call('ZCOUNT', source, now - window, '+inf') == 0 then limit = math.huge end
  source_window = tonumber(ARGV[8])
  local wait = window_room(source, tonumber(ARGV[7]), source_window, now)
  if wait then return {'source_budget', wait} end
end
local vid = redis.call('GET', KEYS[1])
if not vid then return {'missing'} end
if ARGV[1] ~= '' and ARGV[1] ~= vid then return {'missing'} end
local rk = ARGV[5] .. vid
local r = redis.call('HMGET', rk, 'status', 'expires_ms', 'attempts_left', 'code_length', 'gen',
  'mode', 'provider', 'reference', 'code_hash')
if r[1] ~= 'pending' or tonumber(r[2]) <= now or tonumber(r[3]) <= 0 then return {'missing'} end
local wait = reserve(KEYS[2], limit, window, ARGV[4], now)
if wait then return {'budget', wait} end
if source then window_add(source, source_window, ARGV[4], now) end
local left = redis.call('HINCRBY', rk, 'attempts_left', -1)
redis.call('SET', KEYS[3], 'charged:' .. vid .. ':' .. r[5], 'PX', ARGV[6])
return {'ok', vid, r[5], left, r[6], r[7], r[8] or '', r[9] or '', r[4] or '0'}
