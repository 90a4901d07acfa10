-- GET BENCH_PATH with `Authorization: Bearer <token>`, cycling through the access tokens of
-- BENCH_BODIES (the introspection bodies, `token=...&token_type_hint=...`). Used for the
-- resource-server rows (an endpoint guarded by authsvc-client, and the same one unguarded).
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "common.lua")

local reqs = {}
local index = 0

function init(args)
  local path = os.getenv("BENCH_PATH") or "/orders"
  local agent = os.getenv("BENCH_UA") or "authsvc-bench"
  for _, body in ipairs(bench.lines(os.getenv("BENCH_BODIES"))) do
    local token = body:match("token=([^&]+)")
    reqs[#reqs + 1] = wrk.format("GET", path, {
      ["Authorization"] = "Bearer " .. token, ["User-Agent"] = agent,
    })
  end
  assert(#reqs > 0, "BENCH_BODIES is empty")
  index = (tid or 0) * 7 % #reqs
end

function request()
  index = index % #reqs + 1
  return reqs[index]
end
