-- window: `reserve(key, limit, window, token, now)` reserves one entry in a sliding-window log (a
-- sorted set of tokens scored by time). Returns nil when reserved, else the milliseconds until the
-- oldest entry leaves the window.
local function reserve(key, limit, window, token, now)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  if redis.call('ZCARD', key) >= limit then
    local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
    return math.max(1, tonumber(oldest[2]) + window - now)
  end
  redis.call('ZADD', key, now, token)
  redis.call('PEXPIRE', key, window)
  return nil
end
