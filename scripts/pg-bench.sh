#!/usr/bin/env bash
# PostgreSQL backend benchmark (issue #12): for a generated registry of DOMAINS domains
#   - `rddsd db import` time and the database's size;
#   - one node serving from the database (`rddsd serve --database`): throughput and latency
#     p50/p99 of uncached lookups of random existing names (wrk, as scripts/load.sh);
#   - the node's resident memory after start and after the run, which must not grow with the
#     number of domains (the data stays in PostgreSQL; the answer cache is bounded).
# Uncached: each wrk thread walks its own share of a shuffled list of every name once, and the
# node caches an answer only at its second request, so as long as the run sends fewer requests
# than there are names, every answer is rendered from the database. The summary says when a
# run sent more (then some answers were cached and the figures are flattered).
#
# Needs: a PostgreSQL server whose role may create databases (ADMIN_URL), wrk, python3, psql,
# a release build (cargo build --release). Takes a database named rddsd_bench_<pid>, dropped at
# the end (KEEP_DB=1 keeps it). Disk: about 0.65 GB of JSON Lines plus the database for
# 1,000,000 domains, in $TMPDIR.
# Settings: DOMAINS (1000000), ADMIN_URL (postgres://postgres@127.0.0.1:5432/postgres),
# THREADS (2), CONNS (32), DURATION (10s), PORT (18183). Loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."
RDDSD=${RDDSD:-target/release/rddsd}
DOMAINS=${DOMAINS:-1000000}
ADMIN_URL=${ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}
THREADS=${THREADS:-2}; CONNS=${CONNS:-32}; DURATION=${DURATION:-10s}; PORT=${PORT:-18183}
for tool in wrk python3 psql "$RDDSD"; do
  command -v "$tool" >/dev/null || { echo "pg-bench.sh needs $tool (see the header)"; exit 1; }
done
db=rddsd_bench_$$
# The admin URL with its database replaced by ours.
url=$(python3 - "$ADMIN_URL" "$db" <<'PY'
import sys, urllib.parse
u = urllib.parse.urlsplit(sys.argv[1])
print(urllib.parse.urlunsplit((u.scheme, u.netloc, "/" + sys.argv[2], u.query, "")))
PY
)
work=$(mktemp -d); pid=
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  [ "${KEEP_DB:-0}" = 1 ] || psql -q "$ADMIN_URL" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
rss() { echo "$(($(ps -o rss= -p "$1") / 1024)) MiB"; }

echo "== $DOMAINS generated domains"
python3 scripts/gen-registry.py --domains "$DOMAINS" --out "$work/data" >/dev/null
psql -q "$ADMIN_URL" -c "CREATE DATABASE $db" >/dev/null
"$RDDSD" db migrate --database "$url" >/dev/null
t0=$(date +%s.%N)
"$RDDSD" db import --database "$url" "$work/data" >"$work/import" 2>&1 || { cat "$work/import"; exit 1; }
t1=$(date +%s.%N)
import_s=$(python3 -c "print(f'{$t1 - $t0:.1f}')")
size=$(psql -At "$url" -c "SELECT pg_size_pretty(pg_database_size(current_database()))")
echo "import: $import_s s; database size: $size"

# Every existing name once, shuffled (the same order for the same DOMAINS).
python3 - "$work/data/40-domains.jsonl" >"$work/paths" <<'PY'
import json, random, sys, urllib.parse
names = [json.loads(l)["name"] for l in open(sys.argv[1], encoding="utf-8")]
random.Random(7).shuffle(names)
for n in names:
    print("/domain/" + urllib.parse.quote(n))
PY
cat >"$work/walk.lua" <<'LUA'
-- Each thread walks its own contiguous share of the list, each name once per pass.
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
LUA

printf '[limits]\nallow = ["127.0.0.0/8"]\n[rdap]\nmax_per_client = 1000\n[whois]\nlisten = []\n[admin]\nlisten = []\n' >"$work/rddsd.toml"
: >"$work/out"
"$RDDSD" serve --config "$work/rddsd.toml" --database "$url" --rdap-listen "127.0.0.1:$PORT" \
  >"$work/out" 2>"$work/err" & pid=$!
for _ in $(seq 600); do grep -q listening "$work/out" 2>/dev/null && break; sleep 0.1; done
grep -q listening "$work/out" || { echo "rddsd did not start:"; tail -5 "$work/err"; exit 1; }
rss_start=$(rss "$pid")
code=$(python3 -c "import urllib.request,sys; print(urllib.request.urlopen('http://127.0.0.1:$PORT' + open('$work/paths').readline().strip()).status)")
[ "$code" = 200 ] || { echo "a lookup did not answer 200"; exit 1; }
PATHS="$work/paths" THREADS="$THREADS" wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency \
  -s "$work/walk.lua" "http://127.0.0.1:$PORT" >"$work/wrk" 2>&1
rss_end=$(rss "$pid")
python3 - "$work/wrk" "$DOMAINS" "$import_s" "$size" "$rss_start" "$rss_end" <<'PY'
import re, sys
sys.path.insert(0, "scripts")
from wrk_summary import served
t = open(sys.argv[1]).read()
def find(p):
    m = re.search(p, t)
    return m.group(1) if m else "?"
rps = find(r"Requests/sec:\s+([\d.]+)")
p50 = find(r"\s50%\s+(\S+)")
p99 = find(r"\s99%\s+(\S+)")
total = int(find(r"(\d+) requests in") or 0)
non2xx = find(r"Non-2xx or 3xx responses: (\d+)")
non2xx = "0" if non2xx == "?" else non2xx
domains = int(sys.argv[2])
ok_rps = served(t, rps if rps != "?" else 0)[0]
print(f"{'domains':>9} {'import':>8} {'db size':>9} {'req/s':>9} {'2xx/s':>9} {'p50':>9} {'p99':>9} {'requests':>9} {'non-2xx':>8} {'RSS start':>10} {'RSS end':>10}")
print(f"{domains:>9} {sys.argv[3] + ' s':>8} {sys.argv[4]:>9} {rps:>9} {ok_rps:>9.0f} {p50:>9} {p99:>9} {total:>9} {non2xx:>8} {sys.argv[5]:>10} {sys.argv[6]:>10}")
if total > domains:
    print(f"note: {total} requests for {domains} names: names were asked more than once, so some answers came from the cache")
if non2xx != "0":
    print("note: non-2xx answers: the figures are not valid")
PY
