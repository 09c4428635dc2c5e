-- budget: the send budgets, charged all or nothing by token. Each budget is a hash of one field per
-- fixed window (the UTC hour or day number, from Redis' clock), so two replicas always count in the
-- same window; older fields are dropped as the window moves on. The token's record lists what it took
-- (its keys share the token's hash tag), so a give-back finds it whenever it runs.
-- `budget_lines(first_key, first_arg, now)`: the budgets, one counter each in KEYS[first_key..] (the
--   last keys) and three ARGV each from ARGV[first_arg]: limit, amount, window_ms.
-- `budget_spent(lines, now)`: nil when every budget has room, else the index of the first spent one
--   and the milliseconds until its window ends.
-- `budget_charge(lines, index, token_key, token_ttl, now)`: charges every budget and records it.
-- `budget_give_back(token_key, token_ttl)`: gives back what the token's record took (1 if anything,
--   else 0; a window that has ended is given nothing) and marks the token released, so that a charge
--   with it arriving later takes nothing.
local function budget_lines(first_key, first_arg, now)
  local lines = {}
  for i = 1, #KEYS - first_key + 1 do
    local a = first_arg + 3 * (i - 1)
    local window = tonumber(ARGV[a + 2])
    local bucket = math.floor(now / window)
    lines[i] = {
      key = KEYS[first_key + i - 1], limit = tonumber(ARGV[a]), amount = ARGV[a + 1],
      window = window, bucket = bucket, field = tostring(bucket),
    }
  end
  return lines
end
local function budget_spent(lines, now)
  for i, line in ipairs(lines) do
    local used = tonumber(redis.call('HGET', line.key, line.field) or '0')
    if used + tonumber(line.amount) > line.limit + 1e-9 then return i, (line.bucket + 1) * line.window - now end
  end
  return nil
end
local function budget_charge(lines, index, token_key, token_ttl, now)
  local record = {}
  for _, line in ipairs(lines) do
    redis.call('HINCRBYFLOAT', line.key, line.field, line.amount)
    for _, field in ipairs(redis.call('HKEYS', line.key)) do
      if field ~= line.field then redis.call('HDEL', line.key, field) end
    end
    redis.call('PEXPIRE', line.key, 2 * line.window)
    redis.call('ZADD', index, now + 2 * line.window, line.key)
    record[#record + 1] = line.key
    record[#record + 1] = line.field
    record[#record + 1] = line.amount
  end
  redis.call('ZREMRANGEBYSCORE', index, '-inf', now)
  redis.call('PEXPIRE', index, 2 * 86400000)
  redis.call('SET', token_key, cjson.encode(record), 'PX', token_ttl)
end
local function budget_give_back(token_key, token_ttl)
  local record = redis.call('GET', token_key)
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
  redis.call('SET', token_key, 'released', 'PX', token_ttl)
  return given
end
