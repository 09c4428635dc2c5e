-- reserve: one entry in a sliding-window log (the per-client and per-IP send windows).
-- KEYS: window, token marker
-- ARGV: limit, window_ms, token
-- Returns: 0 when reserved, -1 when this token was refunded already (nothing taken), else the
--          milliseconds until a slot frees up
-- uses: now, window
if redis.call('EXISTS', KEYS[2]) == 1 then return -1 end
local wait = reserve(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3], now)
if wait then return wait end
return 0
