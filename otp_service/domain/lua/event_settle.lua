-- event_settle: the outcome of one delivery. "done" removes it from its queue whoever holds the lease
-- (it was delivered); "retry" and "dead" only count from the lease's holder (a worker whose lease ran
-- out and was taken over leaves the decision to the new holder).
-- KEYS: due (zset), attempts (hash), leases (hash), the app's dead letters (list)
-- ARGV: queue, delivery, lease token, outcome (done | retry | dead), retry delay ms, dead letter,
--       key prefix of the queues, most dead letters kept
-- Returns: 1 when the outcome was applied by the holder, 0 otherwise
-- uses: now
local suffix, member, outcome = ARGV[1], ARGV[2], ARGV[4]
local queue = ARGV[7] .. 'q:' .. suffix
local mine = redis.call('HGET', KEYS[3], suffix) == ARGV[3]
if outcome == 'done' then redis.call('ZREM', queue, member) end
if not mine then return 0 end
redis.call('HDEL', KEYS[3], suffix)
if outcome == 'retry' then
  redis.call('HINCRBY', KEYS[2], suffix, 1)
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[5]), suffix)
  return 1
end
if outcome == 'dead' then
  redis.call('ZREM', queue, member)
  redis.call('LPUSH', KEYS[4], ARGV[6])
  redis.call('LTRIM', KEYS[4], 0, tonumber(ARGV[8]) - 1)
end
redis.call('HDEL', KEYS[2], suffix)
if redis.call('ZCARD', queue) > 0 then
  redis.call('ZADD', KEYS[1], now, suffix)
else
  redis.call('ZREM', KEYS[1], suffix)
end
return 1
