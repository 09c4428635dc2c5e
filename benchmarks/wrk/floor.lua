-- The floor: GET /health/live, which does nothing but answer, at the same concurrency as the phases.
-- Its CPU per request is what the HTTP server, Litestar and the app's middleware cost by themselves.
-- args: nthreads
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

function init(args)
  nthreads = tonumber(args[1])
end

function request()
  return wrk.format("GET", "/health/live", nil, nil)
end
