-- budget_charge: charge every budget of one send at once, all or nothing (a second message of a send
-- already admitted: the conversion guard is not asked; fraud_admit charges a new send).
-- KEYS: token marker, index of budgets (sorted set), then one counter hash per budget
-- ARGV: token_ttl_ms, then per budget: limit, amount, window_ms
-- Returns: {0} when charged; {-1} when this token was given back already (nothing charged);
--          else {i, wait_ms}: the i-th budget (1-based) is spent until its window ends
-- uses: now, budget
if redis.call('EXISTS', KEYS[1]) == 1 then return {-1} end
local lines = budget_lines(3, 2, now)
local spent, wait = budget_spent(lines, now)
if spent then return {spent, wait} end
budget_charge(lines, KEYS[2], KEYS[1], ARGV[1], now)
return {0}
