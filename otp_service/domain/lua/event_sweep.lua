-- event_sweep: emit `expired` for every verification whose deadline passed, exactly once: the entry
-- leaves the deadlines and enters the stream in this one script, whichever replica runs it.
-- KEYS: deadlines (zset), expiring (hash), stream, apps (hash app -> epoch ms)
-- ARGV: grace ms (an approval racing its expiry clears the deadline first), how many at most, event type,
--       key prefix of the apps' endpoint sets
-- Returns: how many were emitted
-- A deadline is dropped instead when its app has no endpoint now, or when it was set before the
-- app's endpoints last went from none to some (its epoch): a replica that saw no endpoint skipped
-- the approval that would have cleared it, and the new endpoint must not hear of it.
-- uses: now
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[1]), 'LIMIT', 0, tonumber(ARGV[2]))
local emitted = 0
for _, vid in ipairs(due) do
  local stored = redis.call('HGET', KEYS[2], vid)
  redis.call('ZREM', KEYS[1], vid)
  redis.call('HDEL', KEYS[2], vid)
  if stored then
    local entry = cjson.decode(stored)
    local epoch = tonumber(redis.call('HGET', KEYS[4], entry.app) or '0')
    local live = redis.call('SCARD', ARGV[4] .. entry.app) > 0
    if live and (entry.set == nil or entry.set >= epoch) then -- no `set`: an earlier release's deadline
      redis.call('XADD', KEYS[3], '*', 'app', entry.app, 'type', ARGV[3], 'subject', vid, 'data', entry.data)
      emitted = emitted + 1
    end
  end
end
return emitted
