-- A login wave: a fixed cycle of request kinds, e.g. "SRSRSRSRWG" = 4 sends (S) to new numbers,
-- 4 right checks (R), 1 wrong check (W) and 1 status read (G) per 10 requests.
-- args: nthreads right_pool wrong_pool send_range pattern wrong_uses
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

local right_state = { next = 0 }
local wrong_state = { next = 0 }
local read_state = { next = 0 }

function init(args)
  nthreads = tonumber(args[1])
  right_pool = load_pool(args[2])
  wrong_pool = load_pool(args[3])
  range = args[4]
  pattern = args[5]
  wrong_uses = tonumber(args[6])
  slot = 0
end

function request()
  local kind = pattern:sub(slot + 1, slot + 1)
  slot = (slot + 1) % #pattern
  if kind == "S" then
    return send_request(range)
  elseif kind == "R" then
    local item = pick(right_pool, right_state, 1)
    return check_request(item, item.code)
  elseif kind == "W" then
    local item = pick(wrong_pool, wrong_state, wrong_uses)
    return check_request(item, wrong_code(item.code))
  else
    local item = pick(wrong_pool, read_state, 1000000)
    return status_request(item)
  end
end
