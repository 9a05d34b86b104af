-- wrk script of the cache-missing runs (pg-bench.sh, scale.py): PATHS names a file of request
-- paths, THREADS the thread count; each thread walks its own contiguous share of the list, each
-- path once per pass, so a run of fewer requests than paths never asks twice.
local paths, created, i, last = {}, 0, 0, 0
function setup(thread)
  thread:set("id", created)
  created = created + 1
end
function init(args)
  for line in io.lines(os.getenv("PATHS")) do paths[#paths + 1] = line end
  local share = math.floor(#paths / tonumber(os.getenv("THREADS")))
  i = id * share
  last = i + share
end
function request()
  i = i + 1
  if i > last then i = last - math.floor(#paths / tonumber(os.getenv("THREADS"))) + 1 end
  return wrk.format("GET", paths[i])
end
