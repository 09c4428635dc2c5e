-- finish_check: record what a check found, for the attempt take_attempt charged.
-- KEYS: cur, fails, record, token marker, [source_fails]
-- ARGV: id, gen, outcome, token, retain_ms, attempts_left_after_this_check
--   outcome: approved | wrong | expired (vendor says dead) | locked (vendor stopped)
-- Returns: {'approved'} | {'wrong', attempts_left} | {'dead', attempts_left} | {'missing'}
-- A check that is not to count goes to release_check instead; one that was released already (its
-- request gave up with 503) changes nothing here. attempts_left is always what this check's own
-- charge left, so N concurrent wrong checks answer N-1 ... 0, each once.
-- The check that took the last attempt decides: if it is wrong, the verification dies at once, even if
-- an earlier concurrent check is still being verified (that one then finds nothing to approve). Only
-- concurrent guessing can hit this, and refusing it is the safe side.
-- Only 'wrong' and 'dead' are failures: any other answer also gives back the end user's failure
-- slot that take_attempt took under this token (KEYS[5], when given; check_sources.py).
-- uses: now
local id, gen, outcome, left = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[6])
local function settle()
  if redis.call('GET', KEYS[4]) == 'released' then return {'missing'} end
  if redis.call('EXISTS', KEYS[3]) == 0 then return {'missing'} end
  local r = redis.call('HMGET', KEYS[3], 'status', 'gen')
  local live = r[1] == 'pending' and r[2] == gen
  local function finish(status)
    redis.call('HSET', KEYS[3], 'status', status, 'finished_ms', now)
    if redis.call('GET', KEYS[1]) == id then redis.call('DEL', KEYS[1]) end
    redis.call('PEXPIRE', KEYS[3], tonumber(ARGV[5]))
  end
  if outcome == 'approved' then
    redis.call('ZREM', KEYS[2], ARGV[4])
    if live and redis.call('GET', KEYS[1]) == id then finish('approved') return {'approved'} end
    return {'missing'}
  end
  if outcome == 'expired' then
    redis.call('ZREM', KEYS[2], ARGV[4])
    if live then finish('expired') end
    return {'missing'}
  end
  if not live then
    if r[1] == 'pending' then return {'wrong', left} end
    -- A concurrent check used the last attempt and killed it first: this guess was charged and wrong.
    if r[1] == 'max_attempts_reached' then return {'dead', left} end
    return {'missing'}
  end
  if outcome == 'locked' or left <= 0 then
    redis.call('HSET', KEYS[3], 'attempts_left', 0)
    finish('max_attempts_reached')
    return {'dead', 0}
  end
  return {'wrong', left}
end
local result = settle()
if KEYS[5] and result[1] ~= 'wrong' and result[1] ~= 'dead' then redis.call('ZREM', KEYS[5], ARGV[4]) end
return result

