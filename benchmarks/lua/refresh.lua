-- Refresh chains: one chain per connection, each response's refresh token spent by the next
-- request on that connection (what a client does: it keeps the newest token of its pair).
-- run.py starts wrk with as many threads as connections, so each thread drives exactly one
-- connection and its script state is that connection's chain (wrk's Lua has no handle on a
-- connection). Thread k starts with line k+1 of BENCH_BODIES (tokens pre-created by run.py).
-- A 5xx answer (a timeout under load) is retried with the same token, as a client does:
-- authsvc answers a retry within AUTHSVC_REFRESH_REUSE_GRACE with the same successor pair,
-- so the chain goes on (counted as `retried`). Any other answer without a refresh token
-- breaks the chain: the thread counts it (`broken`) and stops, so a spent token is never
-- replayed outside the grace and the reuse-detection path is never measured by accident.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "common.lua")

local req
broken = 0
retried = 0

local function encode(s)
  return (s:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

function init(args)
  local all = bench.lines(os.getenv("BENCH_BODIES"))
  local line = all[(tid or 0) + 1]
  assert(line, "BENCH_BODIES has fewer tokens than wrk has threads (one chain a connection)")
  req = bench.post("/token", line)
end

function request()
  return req
end

function response(status, headers, body)
  if status >= 500 then
    retried = retried + 1
    return
  end
  local token = status == 200 and body:match('"refresh_token"%s*:%s*"([^"]+)"')
  if not token then
    broken = broken + 1
    wrk.thread:stop()
    return
  end
  req = bench.post("/token", "grant_type=refresh_token&refresh_token=" .. encode(token))
end
