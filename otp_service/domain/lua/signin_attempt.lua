-- signin_attempt: one admin sign-in attempt, counted in the caller's address window and the global
-- window together, or in neither when either is full (sliding-window logs, like the send windows).
-- KEYS: the address's window, the global window (both tagged {signin}: one slot)
-- ARGV: address limit, global limit, window_ms, token
-- Returns: 0 when counted, else the milliseconds until the fuller window has room again
-- uses: now
local window = tonumber(ARGV[3])
local wait = 0
for i, limit in ipairs({tonumber(ARGV[1]), tonumber(ARGV[2])}) do
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now - window)
  if redis.call('ZCARD', KEYS[i]) >= limit then
    local oldest = redis.call('ZRANGE', KEYS[i], 0, 0, 'WITHSCORES')
    wait = math.max(wait, tonumber(oldest[2]) + window - now, 1)
  end
end
if wait > 0 then return wait end
for i = 1, 2 do
  redis.call('ZADD', KEYS[i], now, ARGV[4])
  redis.call('PEXPIRE', KEYS[i], window)
end
return 0
