-- fallback_commit: the SMS that replaces a WhatsApp code went out (or could not).
-- KEYS: record
-- ARGV: outcome ('done' | 'failed'), field, value, field, value, ... (the SMS delivery, for 'done')
-- Returns: 1 when stored, 0 when the verification finished meanwhile or was not claimed.
-- 'done' bumps `gen`, so a check of the WhatsApp code still in flight can no longer settle it; the
-- attempts left, the expiry and the limits already charged stay as they are (one verification).
-- uses: now
local r = redis.call('HMGET', KEYS[1], 'status', 'fallback_state')
if r[2] ~= 'claimed' then return 0 end
redis.call('HSET', KEYS[1], 'fallback_state', ARGV[1])
if ARGV[1] ~= 'done' or r[1] ~= 'pending' then return 0 end
local fields = {}
for i = 2, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('HINCRBY', KEYS[1], 'gen', 1)
redis.call('HSET', KEYS[1], unpack(fields))
redis.call('HSET', KEYS[1], 'delivery_ms', now)
return 1
