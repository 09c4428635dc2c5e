-- fallback_arm: note when a WhatsApp code must have a delivery receipt by, or fall back to SMS.
-- KEYS: the deadlines sorted set (one key for every replica to sweep)
-- ARGV: member ("<verification id>|<E.164 number>"), wait_ms
-- Returns: the deadline (Redis time, ms)
-- uses: now
local due = now + tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], due, ARGV[1])
return due
