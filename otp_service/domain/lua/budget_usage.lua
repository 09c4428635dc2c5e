-- budget_usage: what every budget charged lately has used in its current window.
-- KEYS: index of budgets (sorted set of counter keys)
-- ARGV: none
-- Returns: {now_ms, key, field, used, key, field, used, ...} (the counter's current field, or "")
-- uses: now
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local out = {now}
for _, key in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local fields = redis.call('HGETALL', key)
  out[#out + 1] = key
  out[#out + 1] = fields[1] or ''
  out[#out + 1] = fields[2] or '0'
end
return out
