-- idem_begin: claim an Idempotency-Key, or say who holds it.
-- KEYS: idem
-- ARGV: fingerprint, ttl_ms
-- Returns: {'new'} (claimed, as 'pending:<fingerprint>') | {'busy', fingerprint} | {'done', document}
local v = redis.call('GET', KEYS[1])
if not v then
  redis.call('SET', KEYS[1], 'pending:' .. ARGV[1], 'PX', ARGV[2])
  return {'new'}
end
if string.sub(v, 1, 8) == 'pending:' then return {'busy', string.sub(v, 9)} end
return {'done', v}
