-- abort_send: gives back what begin_send took when nothing was delivered (the window entry and,
-- if it is still ours, the lock).
-- KEYS: sends, lock
-- ARGV: token
-- Returns: 1
redis.call('ZREM', KEYS[1], ARGV[1])
if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
return 1
