-- buckets: the conversion guard's bucketed windows. `buckets(short_ms, long_ms, n_short, n_long, now)`
-- says where `now` falls; `bump(b, base, field, amount)` adds to the current short and long bucket of a
-- base key; `total(b, base, kind, field, n)` sums a field over the last n buckets ('s' short, 'l' long).
local function buckets(short_ms, long_ms, n_short, n_long, now)
  local s_size, l_size = short_ms / n_short, long_ms / n_long
  return {
    s = math.floor(now / s_size), l = math.floor(now / l_size),
    s_ttl = math.ceil(short_ms + s_size), l_ttl = math.ceil(long_ms + l_size),
  }
end
local function bump(b, base, field, amount)
  local s, l = base .. ':s:' .. b.s, base .. ':l:' .. b.l
  redis.call('HINCRBYFLOAT', s, field, amount)
  redis.call('PEXPIRE', s, b.s_ttl)
  redis.call('HINCRBYFLOAT', l, field, amount)
  redis.call('PEXPIRE', l, b.l_ttl)
end
local function total(b, base, kind, field, n)
  local sum = 0
  local current = b[kind]
  for i = 0, n - 1 do
    sum = sum + tonumber(redis.call('HGET', base .. ':' .. kind .. ':' .. (current - i), field) or '0')
  end
  return sum
end
