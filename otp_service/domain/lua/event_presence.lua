-- event_presence: which apps have endpoints, and since when, for the publishes' skip (event_presence.py).
-- Normally one HGETALL and a SCARD per app. When the counts disagree with the endpoints hash
-- (endpoints written by an earlier release, which kept no apps hash), the missing apps are added
-- with epoch 0 (every deadline counts, as before); an app left with no endpoint is taken out.
-- KEYS: apps (hash app -> epoch ms), endpoints (hash id -> JSON)
-- ARGV: key prefix of the apps' endpoint sets
-- Returns: Redis' time (ms), then app, epoch, app, epoch...
-- uses: now
local apps = redis.call('HGETALL', KEYS[1])
local out, seen, total = {now}, {}, 0
for i = 1, #apps, 2 do
  local n = redis.call('SCARD', ARGV[1] .. apps[i])
  if n == 0 then
    redis.call('HDEL', KEYS[1], apps[i])
  else
    total = total + n
    seen[apps[i]] = true
    out[#out + 1] = apps[i]
    out[#out + 1] = apps[i + 1]
  end
end
if total ~= redis.call('HLEN', KEYS[2]) then
  for _, raw in ipairs(redis.call('HVALS', KEYS[2])) do
    local app = cjson.decode(raw).app
    if not seen[app] and redis.call('SCARD', ARGV[1] .. app) > 0 then
      redis.call('HSET', KEYS[1], app, 0)
      seen[app] = true
      out[#out + 1] = app
      out[#out + 1] = '0'
    end
  end
end
return out
