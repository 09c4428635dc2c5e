-- now: the current time in milliseconds, from Redis' clock (not the caller's), as the local `now`.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
