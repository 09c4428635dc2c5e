-- commit_send: store a new verification (fresh) or replace the live one's code (a resend), point
-- `cur` at it, start the cooldown and release the in-flight lock if it is still ours.
-- KEYS: cur, record, cooldown, lock, lock token's marker
-- ARGV: id, fresh ('1' | '0'), ttl_ms, cooldown_ms, lock_token, retain_ms, max_attempts,
--       field, value, field, value, ...
-- Returns: {'ok', HGETALL of the record} | {'gone'} (a resend whose verification finished meanwhile,
--          or a fresh id that already exists, or a send whose request gave up with 503 and was
--          released by abort_send before this arrived)
-- uses: now
local id, ttl, cooldown = ARGV[1], tonumber(ARGV[3]), tonumber(ARGV[4])
if redis.call('EXISTS', KEYS[5]) == 1 then return {'gone'} end
if ARGV[2] == '0' then
  local st = redis.call('HMGET', KEYS[2], 'status', 'expires_ms')
  if redis.call('GET', KEYS[1]) ~= id or st[1] ~= 'pending' or tonumber(st[2]) <= now then
    return {'gone'}
  end
  redis.call('HINCRBY', KEYS[2], 'gen', 1)
else
  if redis.call('EXISTS', KEYS[2]) == 1 then return {'gone'} end
  redis.call('HSET', KEYS[2], 'id', id, 'gen', 1, 'created_ms', now, 'status', 'pending')
end
local fields = {}
for i = 8, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('HSET', KEYS[2], unpack(fields))
redis.call('HSET', KEYS[2], 'attempts_left', ARGV[7], 'max_attempts', ARGV[7],
  'expires_ms', now + ttl, 'resend_ms', now + cooldown, 'delivery_ms', now)
redis.call('PEXPIRE', KEYS[2], ttl + tonumber(ARGV[6]))
redis.call('SET', KEYS[1], id, 'PX', ttl)
if cooldown > 0 then redis.call('SET', KEYS[3], '1', 'PX', cooldown) end
if redis.call('GET', KEYS[4]) == ARGV[5] then redis.call('DEL', KEYS[4]) end
return {'ok', redis.call('HGETALL', KEYS[2])}
