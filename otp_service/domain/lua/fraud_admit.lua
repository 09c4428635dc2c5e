-- fraud_admit: admit one send: charge every budget, all or nothing, then have the conversion guard judge it
-- (when it is on); a send the guard refuses gets its charge back here, so the budgets never count it.
-- KEYS: token marker, index of budgets, prefix base, country base, prefix index, country index, hold key,
--       held index, then one counter hash per budget
-- ARGV: token_ttl_ms, judge (1: the guard is on), prefix, country, short_ms, long_ms, n_short, n_long,
--       min_sends, surge, min_conversion, hold_ms, spend, then per budget: limit, amount, window_ms
-- Returns: {'ok', 0} | {'held', ms left} | {'hold', hold_ms, sent, approved} (the guard's verdict);
--          {'budget', i, wait_ms}: the i-th budget is spent; {'gone'}: this token was given back already
-- uses: now, buckets, budget, guard
-- Every key is on the fraud slot: the budgets' and the guard's keys share one hash tag. A budget that
-- is spent refuses the send before the guard sees it, and the guard counts the refusal (as it counts
-- a number refused for its type). Nothing at all is done for a token given back already: the request
-- that drew it has answered 503, and its give-back must not be outrun by its charge.
if redis.call('EXISTS', KEYS[1]) == 1 then return {'gone'} end
local g = guard_at(3, 3, now)
local lines = budget_lines(9, 14, now)
local spent, wait = budget_spent(lines, now)
if spent then
  guard_count(g, 'r', 1, now)
  return {'budget', spent, wait}
end
if #lines > 0 then budget_charge(lines, KEYS[2], KEYS[1], ARGV[1], now) end
if ARGV[2] ~= '1' then return {'ok', 0} end
local verdict = guard_send(g, KEYS[7], KEYS[8], 9, now)
if verdict[1] ~= 'ok' then budget_give_back(KEYS[1], ARGV[1]) end
return verdict
