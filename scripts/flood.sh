#!/usr/bin/env bash
# Enumeration flood: what it costs the other clients of a rddsd with the harvesting defence ON at
# its DEFAULT settings (10 queries/s, burst 50, 5,000 a day per address; 32 connections per
# address; nothing allowlisted).
#   baseline  other clients only: OTHER_RATE normal lookups per second (random existing names
#             out of DOMAINS generated domains), spread over OTHER_ADDRS addresses from 127.0.0.2
#             on, each within its budget, open loop;
#   flood     the same other clients while FLOOD_PROCS client processes of FLOOD_CONNS
#             connections each look up random NOT-FOUND names as fast as they can, each
#             connection from its own address out of a pool of FLOOD_ADDRS per process (from
#             127.1.0.0, 127.2.0.0, ...: by default an enumerator spread over a /16 each),
#             keeping it until the limiter refuses it (429 closes the connection), then taking
#             the next address. One process is about one core of flood.
# Each case runs on a freshly started server. Prints the other clients' latency (measured from
# when each request was due), their non-2xx count (0: the budget never refused them), the flood's
# rate and statuses, and the server's refusal counters.
#
# The server sees real source addresses: the clients (scripts/flood-client.py) bind 127.x.y.z
# before connecting; no X-Forwarded-For, no trusted proxy, no change to the defaults.
# All clients run on the same cores as the server: the flood's own CPU is part of what the other
# clients feel here, as it would not be on a real network.
#
# Needs: python3, a release build (cargo build --release). Loopback only.
# Settings: DOMAINS (100000), DURATION (10; seconds), OTHER_RATE (160), OTHER_ADDRS (20),
# FLOOD_PROCS (1), FLOOD_CONNS (100), FLOOD_ADDRS (65536), PORT (18195), ADMIN_PORT (18196).
set -euo pipefail
cd "$(dirname "$0")/.."
RDDSD=${RDDSD:-target/release/rddsd}
DOMAINS=${DOMAINS:-100000}; DURATION=${DURATION:-10}
OTHER_RATE=${OTHER_RATE:-160}; OTHER_ADDRS=${OTHER_ADDRS:-20}
FLOOD_PROCS=${FLOOD_PROCS:-1}; FLOOD_CONNS=${FLOOD_CONNS:-100}; FLOOD_ADDRS=${FLOOD_ADDRS:-65536}
PORT=${PORT:-18195}; ADMIN_PORT=${ADMIN_PORT:-18196}
work=$(mktemp -d); pid=; flood_pids=()
stop() { [ -n "$1" ] || return 0; kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }
cleanup() { for p in "${flood_pids[@]}"; do stop "$p"; done; stop "$pid"; rm -rf "$work"; }
trap cleanup EXIT
python3 - "$OTHER_RATE" "$OTHER_ADDRS" "$DURATION" "$FLOOD_PROCS" "$FLOOD_ADDRS" <<'PY'
import sys
rate, addrs, secs = float(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
# Other clients in 127.0.0.0/16, flood process i in 127.i.0.0/16: they must not meet.
if not (1 <= addrs <= 65534 and 1 <= int(sys.argv[4]) <= 255 and 1 <= int(sys.argv[5]) <= 65536):
    sys.exit("OTHER_ADDRS 1..65534, FLOOD_PROCS 1..255, FLOOD_ADDRS 1..65536")
# The other clients must stay within the default budget, or the figure would measure refusals.
if rate / addrs > 10 or rate / addrs * secs > 5000:
    sys.exit(f"{rate / addrs:.1f} queries/s per other client for {secs:.0f} s would exceed the "
             "default budget (10/s, 5,000 a day): raise OTHER_ADDRS")
PY

python3 scripts/gen-registry.py --domains "$DOMAINS" --out "$work/data"
python3 scripts/rdap-dump.py paths --data "$work/data" --out "$work/paths"

start() {
  stop "$pid"; pid=
  # No [limits] and no [rdap] section: the defaults are what is measured.
  printf '[whois]\nlisten = []\n[admin]\nlisten = ["127.0.0.1:%s"]\n' "$ADMIN_PORT" >"$work/rddsd.toml"
  # Emptied before the start: the redirection truncates only once the child runs, and a check
  # before that would find the previous server's "listening".
  : >"$work/out"
  "$RDDSD" serve --config "$work/rddsd.toml" --data "$work/data" --rdap-listen "127.0.0.1:$PORT" \
    >"$work/out" 2>/dev/null & pid=$!
  for _ in $(seq 600); do grep -q "rdap listening" "$work/out" 2>/dev/null && return; sleep 0.1; done
  echo "rddsd did not start"; exit 1
}
others() { # others OUT
  python3 scripts/flood-client.py others --port "$PORT" --first 127.0.0.2 --addrs "$OTHER_ADDRS" \
    --rate "$OTHER_RATE" --duration "$DURATION" --paths "$work/paths" >"$1"
}
metrics() { # metrics OUT
  python3 - "$ADMIN_PORT" >"$1" <<'PY'
import json, re, sys, urllib.request
text = urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/metrics", timeout=10).read().decode()
refusals = {m[0]: int(float(m[1])) for m in
            re.findall(r'^rddsd_refusals_total\{protocol="rdap",reason="(\w+)"\} (\S+)$', text, re.M)}
clients = re.search(r"^rddsd_limiter_clients (\S+)$", text, re.M)
print(json.dumps({"refusals": {k: v for k, v in refusals.items() if v},
                  "limiter_clients": int(float(clients.group(1))) if clients else None}))
PY
}

echo "rddsd, $DOMAINS domains, limiter at its defaults; other clients $OTHER_RATE/s from $OTHER_ADDRS addresses; $DURATION s per case"
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) (other work skews the figures)"
echo "== baseline: other clients only"
start
others "$work/base.json"
metrics "$work/base.metrics"
echo "== flood: the same, plus $FLOOD_PROCS x $FLOOD_CONNS connections of not-found names from up to $FLOOD_PROCS x $FLOOD_ADDRS addresses"
start
# The flood starts first and outlasts the measurement, so the other clients meet it throughout.
for i in $(seq "$FLOOD_PROCS"); do
  python3 scripts/flood-client.py flood --port "$PORT" --first "127.$i.0.0" --addrs "$FLOOD_ADDRS" \
    --conns "$FLOOD_CONNS" --duration "$((DURATION + 2))" >"$work/flood.$i.json" & flood_pids+=($!)
done
sleep 1
others "$work/flood-others.json"
for p in "${flood_pids[@]}"; do wait "$p"; done; flood_pids=()
metrics "$work/flood.metrics"
python3 - "$work" <<'PY'
import glob, json, sys
from collections import Counter
parts = [json.load(open(p)) for p in glob.glob(f"{sys.argv[1]}/flood.*.json")]
statuses = Counter()
for p in parts:
    statuses.update(p["statuses"])
json.dump({"rate": sum(p["rate"] for p in parts), "connections": sum(p["connections"] for p in parts),
           "statuses": dict(statuses)}, open(f"{sys.argv[1]}/flood.json", "w"))
PY

echo
python3 - "$work" <<'PY'
import json, sys
w = sys.argv[1]
load = lambda n: json.load(open(f"{w}/{n}"))
print(f"{'case':<9} {'other clients':>13} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'max ms':>8} {'non-2xx':>8}   flood")
for case, o, m, fl in (("baseline", load("base.json"), load("base.metrics"), None),
                       ("flood", load("flood-others.json"), load("flood.metrics"), load("flood.json"))):
    bad = sum(v for k, v in o["statuses"].items() if not k.startswith("2"))
    flood = "none" if fl is None else (
        f"{fl['rate']:.0f} req/s, {fl['connections']} connections, statuses {fl['statuses']}")
    print(f"{case:<9} {o['rate']:>9.0f} /s {o['p50_ms']:>8} {o['p90_ms']:>8} {o['p99_ms']:>8} {o['max_ms']:>8} {bad:>8}   {flood}")
    print(f"{'':<9} server: refusals {m['refusals'] or 'none'}, limiter clients {m['limiter_clients']}")
b, f = load("base.json"), load("flood-others.json")
print(f"other clients' p99: {b['p99_ms']} ms without the flood, {f['p99_ms']} ms with it")
PY
