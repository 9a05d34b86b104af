#!/usr/bin/env bash
# Install the Debian package built by scripts/package.sh, start the packaged binary with the
# packaged config (as the unit would; CI has no systemd), query it over RDAP, port 43 and the
# admin listener, stop it with SIGTERM, and purge the package again. Exits non-zero on any
# failure; the package is removed whatever happens.
set -euo pipefail
cd "$(dirname "$0")/.."
deb=$(ls target/debian/rddsd_*.deb | head -1)
pass=0; fail=0
check() { if "$@"; then pass=$((pass+1)); else echo "FAILED: $*"; fail=$((fail+1)); fi; }
cleanup() {
  [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null || true
  dpkg --purge rddsd >/dev/null 2>&1 || true
}
trap cleanup EXIT
dpkg -i "$deb"
check test -x /usr/bin/rddsd
check test -f /etc/rddsd/rddsd.toml
check test -f /usr/lib/systemd/system/rddsd.service
check test -f /usr/share/man/man1/rddsd.1.gz
check test -f /usr/share/rddsd/policy.toml
check grep -q '^Type=notify' /usr/lib/systemd/system/rddsd.service
/usr/bin/rddsd --version
log=$(mktemp)
/usr/bin/rddsd serve --config /etc/rddsd/rddsd.toml >"$log.out" 2>"$log" &
pid=$!
for _ in $(seq 1 100); do grep -q '^admin listening' "$log.out" 2>/dev/null && break; sleep 0.1; done
check grep -q 'rdap listening on http://127.0.0.1:8080' "$log.out"
rdap=$(python3 - <<'PY'
import urllib.request
print(urllib.request.urlopen("http://127.0.0.1:8080/domain/nic.example").read().decode())
PY
)
check grep -q '"ldhName":"nic.example"' <<<"$rdap"
whois_answer=$(python3 - <<'PY'
import socket
s = socket.create_connection(("127.0.0.1", 43), timeout=5)
s.sendall(b"nic.example\r\n")
out = b""
while chunk := s.recv(65536):
    out += chunk
print(out.decode())
PY
)
check grep -q '^Domain Name: nic.example' <<<"$whois_answer"
ready=$(python3 -c 'import urllib.request; print(urllib.request.urlopen("http://127.0.0.1:9090/readyz").read().decode())')
check grep -q '^ready' <<<"$ready"
# The packaged config logs JSON: every line parses.
check python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1]) if l.strip()]' "$log"
kill -TERM "$pid"
wait "$pid"; status=$?
pid=
check test "$status" -eq 0
dpkg --purge rddsd
check test ! -e /usr/bin/rddsd
echo "package: $pass passed, $fail failed"
test "$fail" -eq 0
