-- refund: give back a reservation in a sliding-window log (the per-client and per-IP windows),
-- whenever it runs: a reserve with this token arriving after it then takes nothing.
-- KEYS: window, token marker
-- ARGV: token, token_ttl_ms
-- Returns: 1
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('SET', KEYS[2], 'released', 'PX', ARGV[2])
return 1
