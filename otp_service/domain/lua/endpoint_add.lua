-- endpoint_add: store a new endpoint and count its app as having endpoints, in one step.
-- The app's epoch (when its endpoints last went from none to some) lets the sweep tell a deadline
-- set for this generation of endpoints from one left behind by an earlier, deleted one.
-- KEYS: endpoints (hash id -> JSON), the app's endpoint set, apps (hash app -> epoch ms)
-- ARGV: endpoint id, its JSON, app
-- Returns: the app's epoch
-- uses: now
if redis.call('SCARD', KEYS[2]) == 0 then
  redis.call('HSET', KEYS[3], ARGV[3], now)
elseif redis.call('HEXISTS', KEYS[3], ARGV[3]) == 0 then
  redis.call('HSET', KEYS[3], ARGV[3], 0) -- endpoints an earlier release made: every deadline counts
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('SADD', KEYS[2], ARGV[1])
return tonumber(redis.call('HGET', KEYS[3], ARGV[3]))
