-- idem_abort: release an Idempotency-Key claimed by idem_begin, only if it is still our claim.
-- KEYS: idem
-- ARGV: fingerprint
-- Returns: 1
if redis.call('GET', KEYS[1]) == 'pending:' .. ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
