-- budget_refund: give back what budget_charge took with this token, whenever it runs: a charge with
-- this token arriving after it then takes nothing. A window that has ended is not given anything.
-- The counter keys come from the token's own record and share its hash tag (one slot).
-- KEYS: token marker
-- ARGV: token_ttl_ms
-- Returns: 1 when something was given back, else 0
local record = redis.call('GET', KEYS[1])
local given = 0
if record and record ~= 'released' then
  local r = cjson.decode(record)
  for i = 1, #r, 3 do
    if redis.call('HEXISTS', r[i], r[i + 1]) == 1 then
      redis.call('HINCRBYFLOAT', r[i], r[i + 1], '-' .. r[i + 2])
      given = 1
    end
  end
end
redis.call('SET', KEYS[1], 'released', 'PX', ARGV[1])
return given
