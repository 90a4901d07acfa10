-- Refresh rotation: every request spends a fresh refresh token from BENCH_BODIES (one
-- urlencoded body a line, pre-created by run.py). Thread k of n takes lines k, k+n, k+2n...
-- When a thread's share is used up it sends the cheap GET /health/live instead (counted as
-- `overflow`, so the runner can tell the pool was too small) and stops itself: a token is
-- never sent twice, so no request measures the reuse-detection path by accident.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "common.lua")

local reqs = {}
local index = 0
overflow = 0
local filler

function init(args)
  local nthreads = tonumber(os.getenv("BENCH_THREADS") or "1")
  local all = bench.lines(os.getenv("BENCH_BODIES"))
  for i = (tid or 0) + 1, #all, nthreads do
    reqs[#reqs + 1] = bench.post("/token", all[i])
  end
  filler = wrk.format("GET", "/health/live")
end

function request()
  index = index + 1
  if index > #reqs then
    overflow = overflow + 1
    return filler
  end
  return reqs[index]
end

function response(status, headers, body)
  if index > #reqs then
    wrk.thread:stop()
  end
end
