#!/usr/bin/env bash
# PostgreSQL serving benchmark (issues #12 and #24): for a generated registry of DOMAINS domains,
# in one run on the same data,
#   - `rddsd db import` time and the database's size;
#   - three nodes one after the other: a JSON Lines node (`--data`, the reference), a direct-mode
#     node (`[database] mode = "direct"`: every miss reads the database) and a replica node
#     (`mode = "replica"`: the tables read at start, lookups in memory). For each: the time from
#     start to listening, resident memory after start and after the run, and cache-missing
#     lookups of random existing names (wrk): requests/s, 2xx/s (only 2xx counts as served
#     work), p50/p99, non-2xx answers;
#   - the replica's rate as a share of the JSON Lines node's.
# Cache-missing: each wrk thread walks its own share of a shuffled list of every name once, and
# a node caches an answer only at its second request, so as long as a run sends fewer requests
# than there are names, every answer is rendered afresh. The summary says when a run sent more.
# The limiter is off for loopback (`[limits] allow`): this measures serving, not refusing.
#
# Needs: a PostgreSQL server whose role may create databases (ADMIN_URL), wrk, python3, psql, a
# release build (cargo build --release). Takes a database named rddsd_bench_<pid>, dropped at the
# end (KEEP_DB=1 keeps it). Disk: about 0.65 GB of JSON Lines plus the database for 1,000,000
# domains, in $TMPDIR.
# Settings: DOMAINS (1000000), ADMIN_URL (postgres://postgres@127.0.0.1:5432/postgres),
# THREADS (2), CONNS (32), DURATION (10s), PORT (18183), MODES ("jsonl direct replica").
# Reuse: DATA=DIR (a generated data directory) and DB_URL=URL (a database it was imported into)
# skip generation and import. Loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."
RDDSD=${RDDSD:-target/release/rddsd}
DOMAINS=${DOMAINS:-1000000}
ADMIN_URL=${ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}
THREADS=${THREADS:-2}; CONNS=${CONNS:-32}; DURATION=${DURATION:-10s}; PORT=${PORT:-18183}
MODES=${MODES:-jsonl direct replica}
for tool in wrk python3 psql "$RDDSD"; do
  command -v "$tool" >/dev/null || { echo "pg-bench.sh needs $tool (see the header)"; exit 1; }
done
work=$(mktemp -d); pid=; db=
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  if [ -n "$db" ] && [ "${KEEP_DB:-0}" != 1 ]; then
    psql -q "$ADMIN_URL" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
rss() { echo "$(($(ps -o rss= -p "$1") / 1024)) MiB"; }

data=${DATA:-$work/data}
if [ -z "${DATA:-}" ]; then
  echo "== $DOMAINS generated domains"
  python3 scripts/gen-registry.py --domains "$DOMAINS" --out "$data" >/dev/null
fi
if [ -n "${DB_URL:-}" ]; then
  url=$DB_URL; import_s="(reused)"
else
  db=rddsd_bench_$$
  # The admin URL with its database replaced by ours.
  url=$(python3 - "$ADMIN_URL" "$db" <<'PY'
import sys, urllib.parse
u = urllib.parse.urlsplit(sys.argv[1])
print(urllib.parse.urlunsplit((u.scheme, u.netloc, "/" + sys.argv[2], u.query, "")))
PY
)
  psql -q "$ADMIN_URL" -c "CREATE DATABASE $db" >/dev/null
  "$RDDSD" db migrate --database "$url" >/dev/null
  t0=$(date +%s.%N)
  "$RDDSD" db import --database "$url" "$data" >"$work/import" 2>&1 || { cat "$work/import"; exit 1; }
  t1=$(date +%s.%N)
  import_s="$(python3 -c "print(f'{$t1 - $t0:.1f}')") s"
fi
size=$(psql -At "$url" -c "SELECT pg_size_pretty(pg_database_size(current_database()))")
echo "import: $import_s; database size: $size"

# Every existing name once, shuffled (the same order for the same data).
python3 - "$data" >"$work/paths" <<'PY'
import glob, json, random, sys, urllib.parse
names = []
for f in sorted(glob.glob(sys.argv[1] + "/*domains*.jsonl")):
    names += [json.loads(l)["name"] for l in open(f, encoding="utf-8")]
random.Random(7).shuffle(names)
for n in names:
    print("/domain/" + urllib.parse.quote(n))
PY

base='[limits]\nallow = ["127.0.0.0/8"]\n[rdap]\nmax_per_client = 1000\n[whois]\nlisten = []\n[admin]\nlisten = []\n'
: >"$work/results"
for mode in $MODES; do
  case $mode in
    jsonl) printf "$base" >"$work/$mode.toml"; args=(--data "$data") ;;
    direct) printf "$base" >"$work/$mode.toml"; args=(--database "$url") ;;
    replica) printf "$base[database]\nmode = \"replica\"\n" >"$work/$mode.toml"; args=(--database "$url") ;;
    *) echo "unknown mode $mode"; exit 1 ;;
  esac
  t0=$(date +%s.%N)
  "$RDDSD" serve --config "$work/$mode.toml" "${args[@]}" --rdap-listen "127.0.0.1:$PORT" \
    >"$work/out" 2>"$work/err" & pid=$!
  for _ in $(seq 1200); do grep -q listening "$work/out" 2>/dev/null && break; sleep 0.05; done
  grep -q listening "$work/out" || { echo "rddsd ($mode) did not start:"; tail -5 "$work/err"; exit 1; }
  t1=$(date +%s.%N)
  start_s=$(python3 -c "print(f'{$t1 - $t0:.1f} s')")
  sleep 1
  rss_start=$(rss "$pid")
  code=$(python3 -c "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:$PORT' + open('$work/paths').readline().strip()).status)")
  [ "$code" = 200 ] || { echo "a lookup did not answer 200 ($mode)"; exit 1; }
  PATHS="$work/paths" THREADS="$THREADS" wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency \
    -s scripts/walk.lua "http://127.0.0.1:$PORT" >"$work/wrk.$mode" 2>&1
  rss_end=$(rss "$pid")
  kill "$pid"; wait "$pid" 2>/dev/null || true; pid=
  echo "$mode|$start_s|$rss_start|$rss_end" >>"$work/results"
done

python3 - "$work" "$(wc -l <"$work/paths")" <<'PY'
import re, sys
sys.path.insert(0, "scripts")
from wrk_summary import served
work, names = sys.argv[1], int(sys.argv[2])
rows = [l.strip().split("|") for l in open(work + "/results")]
print(f"{'node':>8} {'start':>8} {'req/s':>9} {'2xx/s':>9} {'p50':>9} {'p99':>9} {'requests':>9} {'non-2xx':>8} {'RSS start':>10} {'RSS end':>10}")
rates = {}
for mode, start, rss0, rss1 in rows:
    t = open(f"{work}/wrk.{mode}").read()
    def find(p):
        m = re.search(p, t)
        return m.group(1) if m else "?"
    rps = find(r"Requests/sec:\s+([\d.]+)")
    ok, bad = served(t, rps if rps != "?" else 0)
    total = int(find(r"(\d+) requests in") or 0)
    rates[mode] = ok
    p50, p99 = find(r"\s50%\s+(\S+)"), find(r"\s99%\s+(\S+)")
    print(f"{mode:>8} {start:>8} {rps:>9} {ok:>9.0f} {p50:>9} {p99:>9} {total:>9} {bad:>8} {rss0:>10} {rss1:>10}")
    if total > names:
        print(f"note ({mode}): {total} requests for {names} names: some answers came from the cache")
    if bad:
        print(f"note ({mode}): {bad} non-2xx answers")
if "jsonl" in rates and "replica" in rates and rates["jsonl"] > 0:
    print(f"replica / jsonl (2xx/s): {rates['replica'] / rates['jsonl']:.0%}")
PY
