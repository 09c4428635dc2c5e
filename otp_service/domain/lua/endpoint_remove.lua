-- endpoint_remove: delete an endpoint; its app's last one takes the app out of the apps hash.
-- KEYS: endpoints (hash id -> JSON), the app's endpoint set, apps (hash app -> epoch ms)
-- ARGV: endpoint id, app
-- Returns: how many endpoints the app has left
redis.call('SREM', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[1], ARGV[1])
local left = redis.call('SCARD', KEYS[2])
if left == 0 then redis.call('HDEL', KEYS[3], ARGV[2]) end
return left
