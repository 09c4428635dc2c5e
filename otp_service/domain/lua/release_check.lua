-- release_check: give back what take_attempt charged under a token (the failed-check slot, the end
-- user's failure slot when KEYS[3] is given and, if the same send is still pending, the attempt),
-- whenever it runs: before the charge arrives (it then takes nothing), after it, or after the check
-- finished; twice gives back once.
-- KEYS: token marker, fails, [source_fails]
-- ARGV: token, record_prefix, token_ttl_ms
-- Returns: 1 when something was given back, else 0
-- A verification that a finished wrong check already killed (max_attempts_reached) stays dead.
local v = redis.call('GET', KEYS[1])
if v == 'released' then return 0 end
redis.call('SET', KEYS[1], 'released', 'PX', ARGV[3])
local source = 0
if KEYS[3] then source = redis.call('ZREM', KEYS[3], ARGV[1]) end
if not v then return source end
redis.call('ZREM', KEYS[2], ARGV[1])
local vid, gen = string.match(v, '^charged:(.+):(%d+)$')
local rk = ARGV[2] .. vid
local r = redis.call('HMGET', rk, 'status', 'gen')
if r[1] == 'pending' and r[2] == gen then redis.call('HINCRBY', rk, 'attempts_left', 1) end
return 1
