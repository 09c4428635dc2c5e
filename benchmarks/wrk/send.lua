-- Sends to distinct numbers (+34<range><7 digits>), so no per-number limit or cooldown is hit.
-- args: nthreads range
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

function init(args)
  nthreads = tonumber(args[1])
  range = args[2]
end

function request()
  return send_request(range)
end
