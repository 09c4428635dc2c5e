-- idem_begin: claim an Idempotency-Key for the request with this token, or say who holds it.
-- KEYS: idem, token marker
-- ARGV: fingerprint, ttl_ms, token
-- Returns: {'new'} (claimed, as 'pending:<token>:<fingerprint>') | {'busy', fingerprint}
--          | {'done', document} | {'released'} (idem_abort gave this token's claim back before
--          this arrived: its request answered 503; nothing claimed)
if redis.call('EXISTS', KEYS[2]) == 1 then return {'released'} end
local v = redis.call('GET', KEYS[1])
if not v then
  redis.call('SET', KEYS[1], 'pending:' .. ARGV[3] .. ':' .. ARGV[1], 'PX', ARGV[2])
  return {'new'}
end
if string.sub(v, 1, 8) == 'pending:' then return {'busy', string.match(v, '^pending:[^:]*:(.*)$') or ''} end
return {'done', v}
