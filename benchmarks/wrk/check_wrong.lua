-- Wrong codes against pre-created verifications (max_attempts 20): each item is used round-robin,
-- at most `uses` times, with its real code plus one.
-- args: nthreads pool_file uses
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

local state = { next = 0 }

function init(args)
  nthreads = tonumber(args[1])
  pool = load_pool(args[2])
  uses = tonumber(args[3])
end

function request()
  local item = pick(pool, state, uses)
  return check_request(item, wrong_code(item.code))
end
