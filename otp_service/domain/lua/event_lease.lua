-- event_lease: take the due queues' first deliveries for a while (the lease), so that one worker at a
-- time delivers a queue's head and a worker that dies only delays it until the lease runs out.
-- A head later than an entry still pending in the consumer group waits: that entry may be an earlier
-- event of the same subject, not fanned out yet (its consumer died; it is claimed after a timeout).
-- KEYS: due (zset), stream, attempts (hash), leases (hash)
-- ARGV: group, how many at most, lease ms, lease token, key prefix of the queues, hold ms
-- Returns: {queue, head delivery, failed attempts so far} for each queue leased
-- uses: now
local oldest = nil
local pending = redis.pcall('XPENDING', KEYS[2], ARGV[1])
if type(pending) == 'table' and not pending.err and tonumber(pending[1]) > 0 then
  local ms, seq = string.match(pending[2], '^(%d+)-(%d+)$')
  oldest = string.rep('0', 15 - #ms) .. ms .. '-' .. string.rep('0', 10 - #seq) .. seq
end
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[2]))
local leased = {}
for _, suffix in ipairs(due) do
  local head = redis.call('ZRANGE', ARGV[5] .. 'q:' .. suffix, 0, 0)[1]
  if not head then
    redis.call('ZREM', KEYS[1], suffix)
    redis.call('HDEL', KEYS[3], suffix)
  elseif oldest and string.sub(head, 1, 26) >= oldest then
    redis.call('ZADD', KEYS[1], now + tonumber(ARGV[6]), suffix)
  else
    redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), suffix)
    redis.call('HSET', KEYS[4], suffix, ARGV[4])
    leased[#leased + 1] = {suffix, head, tonumber(redis.call('HGET', KEYS[3], suffix) or '0')}
  end
end
return leased
