-- event_sweep: emit `expired` for every verification whose deadline passed, exactly once: the entry
-- leaves the deadlines and enters the stream in this one script, whichever replica runs it.
-- KEYS: deadlines (zset), expiring (hash), stream
-- ARGV: grace ms (an approval racing its expiry clears the deadline first), how many at most, event type
-- Returns: how many were emitted
-- uses: now
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[1]), 'LIMIT', 0, tonumber(ARGV[2]))
local emitted = 0
for _, vid in ipairs(due) do
  local stored = redis.call('HGET', KEYS[2], vid)
  redis.call('ZREM', KEYS[1], vid)
  redis.call('HDEL', KEYS[2], vid)
  if stored then
    local entry = cjson.decode(stored)
    redis.call('XADD', KEYS[3], '*', 'app', entry.app, 'type', ARGV[3], 'subject', vid, 'data', entry.data)
    emitted = emitted + 1
  end
end
return emitted
