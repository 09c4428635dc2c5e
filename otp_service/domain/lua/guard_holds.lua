-- guard_holds: the prefixes held now.
-- KEYS: held index (sorted set: prefix scored by when its hold ends)
-- ARGV: none
-- Returns: {prefix, ms left, prefix, ms left, ...}
-- uses: now
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local out = {}
local held = redis.call('ZRANGEBYSCORE', KEYS[1], now, '+inf', 'WITHSCORES')
for i = 1, #held, 2 do
  out[#out + 1] = held[i]
  out[#out + 1] = tonumber(held[i + 1]) - now
end
return out
