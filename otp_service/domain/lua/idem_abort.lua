-- idem_abort: give back the Idempotency-Key claim of the request with this token, whenever it runs:
-- only that request's claim is removed (never a later request's, nor a finished document), and a
-- claim arriving after this takes nothing.
-- KEYS: idem, token marker
-- ARGV: token, token_ttl_ms
-- Returns: 1
local v = redis.call('GET', KEYS[1])
if v and string.sub(v, 1, 9 + #ARGV[1]) == 'pending:' .. ARGV[1] .. ':' then redis.call('DEL', KEYS[1]) end
redis.call('SET', KEYS[2], 'released', 'PX', ARGV[2])
return 1
