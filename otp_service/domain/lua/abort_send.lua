-- abort_send: give back what begin_send took under a token when nothing was delivered (the window
-- entry and, if it is still ours, the lock), whenever it runs: a begin_send or commit_send with this
-- token arriving after it (a request that gave up with 503) then takes nothing; twice is harmless.
-- KEYS: sends, lock, token marker
-- ARGV: token, token_ttl_ms
-- Returns: 1
redis.call('ZREM', KEYS[1], ARGV[1])
if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
redis.call('SET', KEYS[3], 'released', 'PX', ARGV[2])
return 1
