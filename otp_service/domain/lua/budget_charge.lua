-- budget_charge: charge every budget of one send at once, all or nothing. Each budget is a hash of
-- one field per fixed window (the UTC hour or day number, from Redis' clock), so two replicas always
-- count in the same window; older fields are dropped as the window moves on.
-- KEYS: token marker, index of budgets (sorted set), then one counter hash per budget
-- ARGV: token_ttl_ms, then per budget: limit, amount, window_ms
-- Returns: {0} when charged; {-1} when this token was given back already (nothing charged);
--          else {i, wait_ms}: the i-th budget (1-based) is spent until its window ends
-- uses: now
if redis.call('EXISTS', KEYS[1]) == 1 then return {-1} end
local n = #KEYS - 2
local fields = {}
for i = 1, n do
  local limit = tonumber(ARGV[3 * i - 1])
  local amount = tonumber(ARGV[3 * i])
  local window = tonumber(ARGV[3 * i + 1])
  local bucket = math.floor(now / window)
  fields[i] = tostring(bucket)
  local used = tonumber(redis.call('HGET', KEYS[2 + i], fields[i]) or '0')
  if used + amount > limit + 1e-9 then return {i, (bucket + 1) * window - now} end
end
local record = {}
for i = 1, n do
  local key = KEYS[2 + i]
  local amount = ARGV[3 * i]
  local window = tonumber(ARGV[3 * i + 1])
  redis.call('HINCRBYFLOAT', key, fields[i], amount)
  for _, field in ipairs(redis.call('HKEYS', key)) do
    if field ~= fields[i] then redis.call('HDEL', key, field) end
  end
  redis.call('PEXPIRE', key, 2 * window)
  redis.call('ZADD', KEYS[2], now + 2 * window, key)
  record[#record + 1] = key
  record[#record + 1] = fields[i]
  record[#record + 1] = amount
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
redis.call('PEXPIRE', KEYS[2], 2 * 86400000)
redis.call('SET', KEYS[1], cjson.encode(record), 'PX', ARGV[1])
return {0}
