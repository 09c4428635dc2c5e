-- event_replay: put an app's dead letters, oldest first, back in their queues for a new round of retries.
-- KEYS: the app's dead letters (list), due (zset)
-- ARGV: key prefix of the queues, how many at most
-- Returns: how many were put back
-- uses: now
local replayed = 0
while replayed < tonumber(ARGV[2]) do
  local raw = redis.call('RPOP', KEYS[1])
  if not raw then break end
  local letter = cjson.decode(raw)
  redis.call('ZADD', ARGV[1] .. 'q:' .. letter.queue, 0, letter.delivery)
  redis.call('ZADD', KEYS[2], 'NX', now, letter.queue)
  replayed = replayed + 1
end
return replayed
