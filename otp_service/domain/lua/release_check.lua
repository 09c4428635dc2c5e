-- release_check: give back what take_attempt charged under a token (the failed-check slot and, if
-- the same send is still pending, the attempt), whenever it runs: before the charge arrives (the
-- charge then takes nothing), after it, or after the check finished; twice gives back once.
-- KEYS: token marker, fails
-- ARGV: token, record_prefix, token_ttl_ms
-- Returns: 1 when something was given back, else 0
-- A verification that a finished wrong check already killed (max_attempts_reached) stays dead.
local v = redis.call('GET', KEYS[1])
if v == 'released' then return 0 end
redis.call('SET', KEYS[1], 'released', 'PX', ARGV[3])
if not v then return 0 end
redis.call('ZREM', KEYS[2], ARGV[1])
local vid, gen = string.match(v, '^charged:(.+):(%d+)$')
local rk = ARGV[2] .. vid
local r = redis.call('HMGET', rk, 'status', 'gen')
if r[1] == 'pending' and r[2] == gen then redis.call('HINCRBY', rk, 'attempts_left', 1) end
return 1
