#!/usr/bin/env bash
# Load test: rddsd against ICANN's icann-rdap-srv 0.0.30 (memory store), same wrk settings, one
# after the other on the same machine, both serving the same bytes for the same names:
#   hot     one domain (the demo registry's kite-surfing.example), always the same URL;
#   random  random existing names out of a generated registry of DOMAINS domains, which both
#           servers hold (icann-rdap-srv gets rddsd's own answers as its memory-store files).
#           Only existing names, so both answer 200 and the comparison is like for like;
#           a sample of bodies is checked first.
# and rddsd alone:
#   random+limiter  the random workload with the harvesting defence on (loopback NOT
#           allowlisted) and a budget large enough never to refuse, so its cost is in the figure;
#   random-big      random names out of BIG_DOMAINS domains (80 % existing, as load-cases.sh).
# Loopback is allowlisted for rddsd in every other case: the default budget (10/s per address)
# would stop wrk, whose connections all come from 127.0.0.1, within a second. The summary says
# which case ran how. icann-rdap-srv has no limiter.
#
# Needs: wrk (apt-get install wrk), rdap-srv (cargo install icann-rdap-srv --version 0.0.30
# --locked), python3, curl, a release build (cargo build --release). Disk in $TMPDIR: about
# 0.85 GB for 100,000 domains as icann-rdap-srv files, 0.65 GB for a registry of 1,000,000.
# Memory: icann-rdap-srv holds 100,000 domains in about
# 2.7 GiB, so 1,000,000 would not fit; rddsd holds 1,000,000 in about 1.1 GiB (docs/performance.md).
# Settings: THREADS (2), CONNS (50), DURATION (10s), DOMAINS (100000), BIG_DOMAINS (1000000; 0
# skips that case), P1/P2 (ports). Loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."
RDDSD=${RDDSD:-target/release/rddsd}
THREADS=${THREADS:-2}; CONNS=${CONNS:-50}; DURATION=${DURATION:-10s}
DOMAINS=${DOMAINS:-100000}; BIG_DOMAINS=${BIG_DOMAINS:-1000000}
P1=${P1:-18181}; P2=${P2:-18182}
HOT=kite-surfing.example
work=$(mktemp -d); rddsd_pid=; icann_pid=
stop() { # stop PID: end one server we started and wait for it
  [ -n "$1" ] || return 0
  kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true
}
cleanup() { stop "$rddsd_pid"; stop "$icann_pid"; rm -rf "$work"; }
trap cleanup EXIT
for tool in wrk rdap-srv python3 curl; do
  command -v "$tool" >/dev/null || { echo "load.sh needs $tool (see the header)"; exit 1; }
done

allow='[limits]
allow = ["127.0.0.0/8"]'
budget='[limits]
rate_per_second = 1000000
burst = 1000000
daily_quota = 4000000000'
start_rddsd() { # start_rddsd LIMITS [serve args...]
  stop "$rddsd_pid"; rddsd_pid=
  # wrk's connections all come from 127.0.0.1: lift the per-client connection cap (32 by
  # default) above them, or the extra connections would measure the cap's 503s.
  printf '%s\n[rdap]\nmax_per_client = 1000\n[whois]\nlisten = []\n[admin]\nlisten = []\n' "$1" >"$work/rddsd.toml"
  shift
  # Empty the old output here, before the start: the redirection below truncates it only once
  # the child runs, and a check before that would find the previous server's "listening".
  : >"$work/rddsd.out"
  "$RDDSD" serve --config "$work/rddsd.toml" --rdap-listen "127.0.0.1:$P1" "$@" \
    >"$work/rddsd.out" 2>/dev/null & rddsd_pid=$!
  for _ in $(seq 1200); do grep -q listening "$work/rddsd.out" 2>/dev/null && return; sleep 0.1; done
  echo "rddsd did not start"; exit 1
}
rss() { echo "$(($(ps -o rss= -p "$1") / 1024)) MiB"; }
start_icann() { # start_icann DATA_DIR PROBE_PATH
  stop "$icann_pid"; icann_pid=
  RDAP_SRV_LISTEN_ADDR=127.0.0.1 RDAP_SRV_LISTEN_PORT=$P2 RDAP_SRV_STORAGE=memory \
    RDAP_SRV_DATA_DIR="$1" RDAP_SRV_AUTO_RELOAD=false RDAP_SRV_LOG=warn \
    rdap-srv >/dev/null 2>&1 & icann_pid=$!
  # It loads every file before it listens: about 20 s per 100,000 domains.
  local t0=$SECONDS
  for _ in $(seq 3000); do
    if curl -sf -H "Accept: application/rdap+json" "http://127.0.0.1:$P2/rdap$2" >/dev/null; then
      echo "icann-rdap-srv: $(ls "$1" | wc -l) files loaded in about $((SECONDS - t0)) s, resident $(rss "$icann_pid");" \
        "rddsd resident $(rss "$rddsd_pid")"
      return
    fi
    kill -0 "$icann_pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "icann-rdap-srv did not start"; exit 1
}

# Random paths, each wrk thread from its own offset in the list (threads that walked the list
# in step would meet the answers the other just put in the cache). PATHS names the list; PREFIX
# goes before each path (icann-rdap-srv serves under /rdap).
cat >"$work/random.lua" <<'EOF'
local paths, prefix, i = {}, os.getenv("PREFIX") or "", 0
local created = 0
function setup(thread)
  thread:set("id", created)
  created = created + 1
end
function init(args)
  for line in io.lines(os.getenv("PATHS")) do paths[#paths + 1] = line end
  i = id * 100003
end
function request()
  i = i + 1
  return wrk.format("GET", prefix .. paths[(i * 7919) % #paths + 1])
end
EOF

printf '%-16s %-22s %-9s %-26s %9s %9s %9s %9s %8s %7s\n' case server domains limiter req/s 2xx/s p50 p99 non-2xx errors >"$work/summary"
run() { # run CASE SERVER DOMAINS LIMITER URL [wrk args...]
  local case=$1 server=$2 domains=$3 limiter=$4 url=$5; shift 5
  # icann-rdap-srv 0.0.30 panics on a request without Accept (its issue #233), so both get one.
  wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency -H "Accept: application/rdap+json" "$@" "$url" >"$work/wrk" 2>&1
  python3 - "$work/wrk" "$case" "$server" "$domains" "$limiter" >>"$work/summary" <<'PY'
import re, sys
sys.path.insert(0, "scripts")
from wrk_summary import served
t = open(sys.argv[1]).read()
rps = re.search(r"Requests/sec:\s+([\d.]+)", t)
if not rps:
    sys.exit("wrk failed:\n" + t)
ok_rps, refused = served(t, rps.group(1))
p50 = re.search(r"\s50%\s+(\S+)", t).group(1)
p99 = re.search(r"\s99%\s+(\S+)", t).group(1)
bad = re.search(r"Non-2xx or 3xx responses: (\d+)", t)
err = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", t)
print(f"{sys.argv[2]:<16} {sys.argv[3]:<22} {sys.argv[4]:<9} {sys.argv[5]:<26} {float(rps.group(1)):>9.0f} "
      f"{ok_rps:>9.0f} {p50:>9} {p99:>9} {refused:>8} {sum(map(int, err.groups())) if err else 0:>7}")
PY
  tail -1 "$work/summary"
}

echo "wrk $THREADS threads, $CONNS connections, $DURATION per case; Accept: application/rdap+json; rddsd access log on (info)"
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) before the run (other work skews the figures)"
echo "== hot: $HOT"
start_rddsd "$allow"
mkdir -p "$work/hot"
curl -sf "http://127.0.0.1:$P1/domain/$HOT" >"$work/hot/$HOT.json"
start_icann "$work/hot" "/domain/$HOT"
echo "response size: rddsd $(curl -s "http://127.0.0.1:$P1/domain/$HOT" | wc -c) bytes," \
  "icann-rdap-srv $(curl -s -H "Accept: application/rdap+json" "http://127.0.0.1:$P2/rdap/domain/$HOT" | wc -c) bytes"
run hot rddsd 34 "off (loopback allowed)" "http://127.0.0.1:$P1/domain/$HOT"
run hot "icann-rdap-srv 0.0.30" 1 none "http://127.0.0.1:$P2/rdap/domain/$HOT"

echo "== random: $DOMAINS generated domains in both servers"
python3 scripts/gen-registry.py --domains "$DOMAINS" --out "$work/data"
start_rddsd "$allow" --data "$work/data"
python3 scripts/rdap-dump.py dump --port "$P1" --data "$work/data" --count "$DOMAINS" \
  --out "$work/icann" --names "$work/names"
python3 scripts/rdap-dump.py paths --names "$work/names" --out "$work/paths"
start_icann "$work/icann" "$(head -1 "$work/paths")"
python3 scripts/rdap-dump.py compare --paths "$work/paths" --port1 "$P1" --port2 "$P2"
export PATHS="$work/paths"
# rddsd starts the measured run afresh, as icann-rdap-srv does: the dump above asked rddsd for
# every name once, which would leave its doorkeeper (an answer is cached on its second request)
# primed with exactly the names about to be asked, so every first request of the run would pay
# for caching. A real client population does not arrive after a rehearsal of itself.
start_rddsd "$allow" --data "$work/data"
run random rddsd "$DOMAINS" "off (loopback allowed)" "http://127.0.0.1:$P1" -s "$work/random.lua"
PREFIX=/rdap run random "icann-rdap-srv 0.0.30" "$DOMAINS" none "http://127.0.0.1:$P2" -s "$work/random.lua"
stop "$icann_pid"; icann_pid=; rm -rf "$work/icann"
start_rddsd "$budget" --data "$work/data"
run random+limiter rddsd "$DOMAINS" "on, budget never refuses" "http://127.0.0.1:$P1" -s "$work/random.lua"
rm -rf "$work/data"

if [ "$BIG_DOMAINS" -gt 0 ]; then
  echo "== random-big: $BIG_DOMAINS generated domains, rddsd only, 80 % existing names"
  python3 scripts/gen-registry.py --domains "$BIG_DOMAINS" --out "$work/big"
  python3 - "$work/big/40-domains.jsonl" "$work/paths" <<'PY'
import json, random, sys, urllib.parse
rng = random.Random(7)
names = [json.loads(l)["name"] for l in open(sys.argv[1], encoding="utf-8")]
with open(sys.argv[2], "w") as out:
    for _ in range(200000):
        if rng.random() < 0.8:
            out.write("/domain/" + urllib.parse.quote(rng.choice(names)) + "\n")
        else:
            out.write(f"/domain/nope-{rng.randrange(10**9)}.example\n")
PY
  start_rddsd "$allow" --data "$work/big"
  run random-big rddsd "$BIG_DOMAINS" "off (loopback allowed)" "http://127.0.0.1:$P1" -s "$work/random.lua"
fi

echo
echo "== summary (rddsd: loopback allowlisted unless the limiter column says on; icann-rdap-srv has no limiter)"
cat "$work/summary"
python3 - "$work/summary" <<'PY'
import sys
rows = [l.split() for l in open(sys.argv[1]).read().splitlines()[1:]]
rps = {}
for r in rows:
    rps[(r[0], r[1])] = float(r[-5])
for case in ("hot", "random"):
    a, b = rps.get((case, "rddsd")), rps.get((case, "icann-rdap-srv"))
    if a and b:
        print(f"{case}: rddsd / icann-rdap-srv = {a / b:.2f}x")
PY
echo "(non-2xx in random-big are its 20 % not-found names: 404; in every other case they must be 0)"
