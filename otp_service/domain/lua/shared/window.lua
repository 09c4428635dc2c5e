-- window: sliding-window logs (sorted sets of tokens scored by time).
-- `window_room(key, limit, window, now)`: nil when the log has room, else the milliseconds until its
-- oldest entry leaves the window. `window_add(key, window, token, now)`: records one entry.
-- `reserve(key, limit, window, token, now)`: both, for one log; nil when reserved, else the wait.
local function window_room(key, limit, window, now)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  if redis.call('ZCARD', key) >= limit then
    local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
    return math.max(1, tonumber(oldest[2]) + window - now)
  end
  return nil
end
local function window_add(key, window, token, now)
  redis.call('ZADD', key, now, token)
  redis.call('PEXPIRE', key, window)
end
local function reserve(key, limit, window, token, now)
  local wait = window_room(key, limit, window, now)
  if wait then return wait end
  window_add(key, window, token, now)
  return nil
end
