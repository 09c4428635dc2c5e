-- fallback_sweep: claim the deadlines that are due; each one is removed by the replica that gets it,
-- so a deadline fires on exactly one replica.
-- KEYS: the deadlines sorted set
-- ARGV: the most entries to claim
-- Returns: the claimed members
-- uses: now
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[1]))
if #due > 0 then redis.call('ZREM', KEYS[1], unpack(due)) end
return due
