-- POST a form to BENCH_PATH, cycling through the bodies in BENCH_BODIES (one a line,
-- already urlencoded). Used for /introspect (access tokens), client credentials, password
-- logins, and the bare ceiling endpoint.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "common.lua")

local reqs = {}
local index = 0

function init(args)
  local path = os.getenv("BENCH_PATH") or "/introspect"
  for _, body in ipairs(bench.lines(os.getenv("BENCH_BODIES"))) do
    reqs[#reqs + 1] = bench.post(path, body)
  end
  assert(#reqs > 0, "BENCH_BODIES is empty")
  index = (tid or 0) * 7 % #reqs
end

function request()
  index = index % #reqs + 1
  return reqs[index]
end
