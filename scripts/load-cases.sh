#!/usr/bin/env bash
# rddsd under wrk in the three cases an operator should look at, on one generated registry:
#   hot            one cached URL, loopback allowlisted (the best case);
#   random         random names out of N domains (80 % existing, 20 % not found), so most
#                  answers miss the cache; loopback allowlisted;
#   random+limiter the same workload with the harvesting defence on (not allowlisted) and a
#                  budget large enough never to refuse, so its cost is in the figure.
# Prints requests/s, p50 and p99 latency and the non-2xx/404 count for each.
#
# Needs: wrk (apt-get install wrk), python3, a release build (cargo build --release).
# Settings: DOMAINS (100000), THREADS (2), CONNS (50), DURATION (10s). Loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."
RDDSD=${RDDSD:-target/release/rddsd}
DOMAINS=${DOMAINS:-100000}; THREADS=${THREADS:-2}; CONNS=${CONNS:-50}; DURATION=${DURATION:-10s}
PORT=${PORT:-18191}
work=$(mktemp -d); pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

python3 scripts/gen-registry.py --domains "$DOMAINS" --out "$work/data"
python3 - "$work/data/40-domains.jsonl" "$work/paths" <<'PY'
import json, random, sys, urllib.parse
rng = random.Random(7)
names = [json.loads(l)["name"] for l in open(sys.argv[1], encoding="utf-8")]
with open(sys.argv[2], "w") as out:
    for i in range(200000):
        if rng.random() < 0.8:
            out.write("/domain/" + urllib.parse.quote(rng.choice(names)) + "\n")
        else:
            out.write(f"/domain/nope-{rng.randrange(10**9)}.example\n")
PY
# Each wrk thread walks the list from its own offset: threads that walked it in step would meet
# the answers the other had just put in the cache.
cat >"$work/random.lua" <<EOF
local paths = {}
for line in io.lines("$work/paths") do paths[#paths + 1] = line end
local i, created = 0, 0
function setup(thread)
  thread:set("id", created)
  created = created + 1
end
function init(args)
  i = id * 100003
end
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i * 7919) % #paths + 1])
end
EOF

start() { # start CONFIG
  [ -n "$pid" ] && { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; }
  # wrk's connections all come from 127.0.0.1: lift the per-client connection cap (32 by
  # default) above them, or the extra connections would measure the cap's 503s.
  printf '%s\n[rdap]\nmax_per_client = 1000\n[whois]\nlisten = []\n[admin]\nlisten = []\n' "$1" >"$work/rddsd.toml"
  # Emptied before the start: the redirection truncates only once the child runs, and a check
  # before that would find the previous server's "listening".
  : >"$work/out"
  "$RDDSD" serve --config "$work/rddsd.toml" --data "$work/data" --rdap-listen "127.0.0.1:$PORT" \
    >"$work/out" 2>/dev/null & pid=$!
  for _ in $(seq 600); do grep -q listening "$work/out" 2>/dev/null && return; sleep 0.1; done
  echo "rddsd did not start"; exit 1
}
run() { # run LABEL [wrk args...]
  local label=$1; shift
  wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency "$@" >"$work/wrk" 2>&1
  python3 - "$label" "$work/wrk" <<'PY'
import re, sys
sys.path.insert(0, "scripts")
from wrk_summary import served
t = open(sys.argv[2]).read()
rps = re.search(r"Requests/sec:\s+([\d.]+)", t).group(1)
ok_rps, refused = served(t, rps)
p50 = re.search(r"\s50%\s+(\S+)", t).group(1)
p99 = re.search(r"\s99%\s+(\S+)", t).group(1)
bad = re.search(r"Non-2xx or 3xx responses: (\d+)", t)
print(f"{sys.argv[1]:<16} {float(rps):>10.0f} req/s   {ok_rps:>10.0f} 2xx/s   p50 {p50:>8}   p99 {p99:>8}   non-2xx {refused}")
PY
}

allow='[limits]
allow = ["127.0.0.0/8"]'
budget='[limits]
rate_per_second = 1000000
burst = 1000000
daily_quota = 4000000000'
echo "rddsd, $DOMAINS domains, wrk $THREADS threads, $CONNS connections, $DURATION per case"
start "$allow"
run hot "http://127.0.0.1:$PORT$(grep -v /nope- "$work/paths" | head -1)"
run random -s "$work/random.lua" "http://127.0.0.1:$PORT"
start "$budget"
run random+limiter -s "$work/random.lua" "http://127.0.0.1:$PORT"
echo "(non-2xx in the random cases are the 20 % not-found names: 404)"
