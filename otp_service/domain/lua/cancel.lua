-- cancel: finish a pending verification as canceled and drop it from `cur`.
-- KEYS: cur, record
-- ARGV: id, retain_ms
-- Returns: 1 when canceled, 0 when it was not pending (unknown, finished or expired)
-- uses: now
local r = redis.call('HMGET', KEYS[2], 'status', 'expires_ms')
if r[1] ~= 'pending' or tonumber(r[2]) <= now then return 0 end
redis.call('HSET', KEYS[2], 'status', 'canceled', 'finished_ms', now)
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[2]))
return 1
