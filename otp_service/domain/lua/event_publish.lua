-- event_publish: add a verification's events to the outbound stream, and keep its expiry deadline.
-- KEYS: stream, the app's endpoint set (the endpoints hash for app "*"), deadlines (zset), expiring (hash)
-- ARGV: app, deadline ("set" | "clear" | ""), verification id, deadline ms, expired event data,
--       then (type, subject, data) for each event
-- Returns: how many events were added (0 when the app has no endpoint: nobody would receive them)
-- uses: now
local app, action, vid = ARGV[1], ARGV[2], ARGV[3]
if action == 'clear' then
  redis.call('ZREM', KEYS[3], vid)
  redis.call('HDEL', KEYS[4], vid)
end
if redis.call('EXISTS', KEYS[2]) == 0 then return 0 end
if action == 'set' then
  -- `set`: when, so that the sweep can drop a deadline older than the app's current endpoints
  redis.call('ZADD', KEYS[3], tonumber(ARGV[4]), vid)
  redis.call('HSET', KEYS[4], vid, cjson.encode({app = app, data = ARGV[5], set = now}))
end
local added = 0
for i = 6, #ARGV, 3 do
  redis.call('XADD', KEYS[1], '*', 'app', app, 'type', ARGV[i], 'subject', ARGV[i + 1], 'data', ARGV[i + 2])
  added = added + 1
end
return added
