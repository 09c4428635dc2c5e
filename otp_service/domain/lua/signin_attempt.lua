-- signin_attempt: one admin sign-in attempt, counted in the caller's address window and the global
-- window together, or in neither when either is full (sliding-window logs, like the send windows).
-- KEYS: the address's window, the global window (both tagged {signin}: one slot)
-- ARGV: address limit, global limit, window_ms, token
-- Returns: 0 when counted, else the milliseconds until the fuller window has room again
-- uses: now, window
local window = tonumber(ARGV[3])
local wait = 0
for i, limit in ipairs({tonumber(ARGV[1]), tonumber(ARGV[2])}) do
  wait = math.max(wait, window_room(KEYS[i], limit, window, now) or 0)
end
if wait > 0 then return wait end
for i = 1, 2 do
  window_add(KEYS[i], window, ARGV[4], now)
end
return 0
