-- Shared by the profile scripts (loaded with dofile): thread ids, pools, outcome counting, and a
-- done() that prints one machine-readable line, "BENCH_JSON {...}", for benchmarks/load.py.
--
-- wrk calls setup() in the main Lua state once per thread, then runs the script again in each
-- thread's own state and calls init(args) there. A response carries no link to its request (one
-- thread drives many connections), so outcomes are classified from the response itself:
-- "<status>:<kind>:<range>", where kind says what the body is (valid_true, valid_false, record,
-- record_unknown, other) and range is the two digits after +34 in "to" (each pool and each send
-- phase uses its own range of numbers, so a check of the wrong pool is told apart from one of the
-- right pool).

local threads = {}
local next_tid = 0

function setup(thread)
  thread:set("tid", next_tid)
  next_tid = next_tid + 1
  table.insert(threads, thread)
end

counts = {}
issued = 0
wrapped = 0

wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("BENCH_API_KEY") or "")
wrk.headers["Content-Type"] = "application/json"

function count(key)
  counts[key] = (counts[key] or 0) + 1
end

-- Lines "phone code id" of a pool file; this thread takes every nthreads-th line.
function load_pool(path)
  local items = {}
  local i = 0
  for line in io.lines(path) do
    if i % nthreads == tid then
      local phone, code, id = line:match("^(%S+) (%S+) (%S+)$")
      if phone then
        items[#items + 1] = { phone = phone, code = code, id = id }
      end
    end
    i = i + 1
  end
  return items
end

-- A pool item, round-robin; each item may be used `uses` times before the pool counts as wrapped.
function pick(pool, state, uses)
  local n = #pool
  if n == 0 then
    return nil
  end
  local k = state.next
  state.next = k + 1
  if math.floor(k / n) >= uses then
    wrapped = wrapped + 1
  end
  return pool[(k % n) + 1]
end

function wrong_code(code)
  local len = #code
  local value = (tonumber(code) + 1) % (10 ^ len)
  return string.format("%0" .. len .. "d", value)
end

function send_request(range)
  local n = tid * 1000000 + issued
  issued = issued + 1
  return wrk.format("POST", "/v1/verifications", nil, string.format('{"to":"+34%s%07d"}', range, n))
end

function check_request(item, code)
  return wrk.format("POST", "/v1/verifications/check", nil,
    string.format('{"to":"%s","code":"%s"}', item.phone, code))
end

function status_request(item)
  return wrk.format("GET", "/v1/verifications/" .. item.id, nil, nil)
end

function response(status, headers, body)
  local kind = "other"
  if body:find('"valid":true', 1, true) then
    kind = "valid_true"
  elseif body:find('"valid":false', 1, true) then
    kind = "valid_false"
  elseif body:find('"delivery":{"status":"unknown"', 1, true) then
    kind = "record_unknown" -- a 201 whose SMS may never have gone out: not an intended answer
  elseif body:find('"delivery":', 1, true) then
    kind = "record"
  end
  local range = body:match('"to":"%+34(%d%d)') or "--"
  count(status .. ":" .. kind .. ":" .. range)
end

function done(summary, latency, requests)
  local merged = {}
  local wrapped_total = 0
  for _, thread in ipairs(threads) do
    local c = thread:get("counts") or {}
    for k, v in pairs(c) do
      merged[k] = (merged[k] or 0) + v
    end
    wrapped_total = wrapped_total + (thread:get("wrapped") or 0)
  end
  local outcomes = {}
  for k, v in pairs(merged) do
    outcomes[#outcomes + 1] = string.format('"%s":%d', k, v)
  end
  local pct = {}
  for _, q in ipairs({ 50, 90, 95, 99, 99.9 }) do
    pct[#pct + 1] = string.format('"%s":%d', tostring(q), latency:percentile(q))
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,' ..
    '"timeout":%d},"latency_us":{"min":%d,"max":%d,"mean":%.1f,"percentiles":{%s}},"outcomes":{%s},"wrapped":%d}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency.min, latency.max, latency.mean, table.concat(pct, ","), table.concat(outcomes, ","), wrapped_total))
end
