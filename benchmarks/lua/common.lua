-- Shared by every benchmark script: parameters come from the environment (set by run.py),
-- requests are built once in init(), and done() prints one JSON line the runner parses.
-- Each wrk thread runs its own copy of the script; setup() numbers the threads.

bench = {}

function bench.lines(path)
  local out = {}
  if not path or path == "" then return out end
  local f = assert(io.open(path, "r"))
  for line in f:lines() do
    if line ~= "" then out[#out + 1] = line end
  end
  f:close()
  return out
end

function bench.post(path, body, extra)
  local headers = {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["User-Agent"] = os.getenv("BENCH_UA") or "authsvc-bench",
  }
  local auth = os.getenv("BENCH_AUTH")
  if auth and auth ~= "" then headers["Authorization"] = auth end
  for k, v in pairs(extra or {}) do headers[k] = v end
  return wrk.format("POST", path, headers, body)
end

-- Optional think time: BENCH_DELAY_MS is the mean delay between a response and the next
-- request on a connection, drawn from an exponential distribution (Poisson-like arrivals),
-- so a few connections offer a chosen rate well below the maximum.
local mean_delay = tonumber(os.getenv("BENCH_DELAY_MS") or "")
if mean_delay and mean_delay > 0 then
  function delay()
    return math.floor(-math.log(1 - math.random()) * mean_delay + 0.5)
  end
end

local threads = {}
local counter = 0

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  threads[#threads + 1] = thread
end

function done(summary, latency, requests)
  local overflow, broken, retried = 0, 0, 0
  for _, t in ipairs(threads) do
    overflow = overflow + (t:get("overflow") or 0)
    broken = broken + (t:get("broken") or 0)
    retried = retried + (t:get("retried") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests": %d, "duration_us": %d, "bytes": %d, ' ..
    '"p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, "mean_us": %.1f, ' ..
    '"errors_connect": %d, "errors_read": %d, "errors_write": %d, "errors_status": %d, ' ..
    '"errors_timeout": %d, "overflow": %d, "broken": %d, "retried": %d}\n',
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    latency.mean, e.connect, e.read, e.write, e.status, e.timeout, overflow, broken, retried))
end
