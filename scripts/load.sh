#!/usr/bin/env bash
# Load test: wrk against a public domain lookup on rddsd and, in the same run with the same wrk
# settings, against ICANN's icann-rdap-srv 0.0.30 serving the same domain response from its
# memory store. Prints both figures and the ratio.
#
# Needs: wrk (apt-get install wrk), rdap-srv (cargo install icann-rdap-srv --version 0.0.30
# --locked), a release build (cargo build --release).
# Settings: THREADS (2), CONNS (50), DURATION (10s). Loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."
THREADS=${THREADS:-2}; CONNS=${CONNS:-50}; DURATION=${DURATION:-10s}
P1=${P1:-18181}; P2=${P2:-18182}
DOMAIN=kite-surfing.example
work=$(mktemp -d); pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

# Loopback is allowlisted: the harvesting budget would otherwise stop wrk within a second.
# wrk's connections all come from one address: lift the per-client connection cap (32) above them.
printf '[limits]\nallow = ["127.0.0.0/8"]\n[rdap]\nmax_per_client = 1000\n[whois]\nlisten = []\n[admin]\nlisten = []\n' >"$work/rddsd.toml"
target/release/rddsd serve --config "$work/rddsd.toml" --rdap-listen "127.0.0.1:$P1" >"$work/rddsd.out" 2>/dev/null & pids+=($!)
for _ in $(seq 50); do grep -q listening "$work/rddsd.out" 2>/dev/null && break; sleep 0.1; done

# Give icann-rdap-srv the very response rddsd produces, so both serve the same bytes.
mkdir -p "$work/data"
curl -sf "http://127.0.0.1:$P1/domain/$DOMAIN" > "$work/data/$DOMAIN.json"
RDAP_SRV_LISTEN_ADDR=127.0.0.1 RDAP_SRV_LISTEN_PORT=$P2 RDAP_SRV_STORAGE=memory \
  RDAP_SRV_DATA_DIR="$work/data" RDAP_SRV_AUTO_RELOAD=false RDAP_SRV_LOG=warn \
  rdap-srv >/dev/null 2>&1 & pids+=($!)
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$P2/rdap/domain/$DOMAIN" >/dev/null && break; sleep 0.1; done

s1=$(curl -s "http://127.0.0.1:$P1/domain/$DOMAIN" | wc -c)
s2=$(curl -s "http://127.0.0.1:$P2/rdap/domain/$DOMAIN" | wc -c)
echo "response size: rddsd $s1 bytes, icann-rdap-srv $s2 bytes"

# icann-rdap-srv 0.0.30 panics on a request without Accept (its issue #233), so both get one.
run() { wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency -H "Accept: application/rdap+json" "$1" | tee /dev/stderr | awk '/Requests\/sec/ {print $2}'; }
echo "== rddsd ($THREADS threads, $CONNS connections, $DURATION)"
r1=$(run "http://127.0.0.1:$P1/domain/$DOMAIN")
echo "== icann-rdap-srv 0.0.30 (same settings)"
r2=$(run "http://127.0.0.1:$P2/rdap/domain/$DOMAIN")
python3 -c "print(f'rddsd {float(\"$r1\"):.0f} req/s, icann-rdap-srv {float(\"$r2\"):.0f} req/s, ratio {float(\"$r1\")/float(\"$r2\"):.2f}x')"
