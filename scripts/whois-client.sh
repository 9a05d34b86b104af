#!/usr/bin/env bash
# Query rddsd's port 43 with the Debian `whois` client, as registry users do, and check the
# answers. Starts its own server on a free loopback port; exits non-zero on any mismatch.
set -euo pipefail
cd "$(dirname "$0")/.."
RDDSD=${RDDSD:-target/release/rddsd}
command -v whois >/dev/null || { echo "whois-client: the Debian whois client is not installed (apt-get install whois)"; exit 1; }
work=$(mktemp -d); pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
"$RDDSD" serve --rdap-listen 127.0.0.1:0 --whois-listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 >"$work/out" 2>"$work/log" & pid=$!
for _ in $(seq 50); do grep -q "whois listening" "$work/out" 2>/dev/null && break; sleep 0.1; done
port=$(sed -n 's/^whois listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$work/out")
[ -n "$port" ] || { echo "whois-client: server did not start"; cat "$work/log"; exit 1; }

fails=0; total=0
expect() { # expect QUERY NEEDLE...
  local q=$1; shift; total=$((total + 1))
  local out; out=$(whois -h 127.0.0.1 -p "$port" "$q" 2>&1 || true)
  for needle in "$@"; do
    if ! grep -qF -- "$needle" <<<"$out"; then
      echo "FAIL whois '$q': missing '$needle'"; echo "$out" | head -20 | sed 's/^/    /'; fails=$((fails + 1)); return
    fi
  done
}
expect nic.example "Domain Name: nic.example" "Registrar IANA ID: 9999" ">>> Last update of WHOIS database:"
expect café.example "Domain Name: xn--caf-dma.example" "Registrant Name: REDACTED FOR PRIVACY" "Registrant Country: CA"
expect "domain KITE-SURFING.example." "Registrant Organization: Haverbeke Kite Surfing BV"
expect "nameserver ns1.nic.example" "Server Name: ns1.nic.example" "IP Address: 2001:db8:53::1"
expect "registrar 1001" "Registrar Name: Lantern Names Ltd"
expect no-such-name.example "NOT FOUND"
echo "whois-client: $((total - fails)) passed, $fails failed (Debian whois $(whois --version 2>&1 | head -1 | awk '{print $NF}'))"
[ "$fails" -eq 0 ]
