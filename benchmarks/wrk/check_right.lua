-- The right code of pre-created verifications (read from the fake's /__fake/messages); each is
-- approved once, so each item is used once.
-- args: nthreads pool_file
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

local state = { next = 0 }

function init(args)
  nthreads = tonumber(args[1])
  pool = load_pool(args[2])
end

function request()
  local item = pick(pool, state, 1)
  return check_request(item, item.code)
end
