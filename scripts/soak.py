#!/usr/bin/env python3
"""A long run of one rddsd over both listeners, failing on leaks and unexpected answers.

For a duration (default 30 minutes) it drives, at once:
  - RDAP from an allowlisted address: hot lookups (one name), random existing names, names that
    do not exist, nameservers and registrars; every answer must be 200 or, for the names that do
    not exist, 404;
  - port 43 from the same address: random existing and missing names; every answer must be the
    domain's block or the not-found text;
  - a limited client (another loopback address, a small budget): 200, 404 or 429 only, and some
    429s must come;
  - an authority disclosing with a credential issued by the real CLI: 200 (404 for a missing
    name), each with its `RDDS-Request-Id` found in the disclosure log at the end;
  - a SIGHUP reload every RELOAD seconds, each logged as reloaded;
  - a delta file every DELTA seconds (one domain's statuses changed), each applied.
Every SAMPLE seconds it reads the server's resident memory and open descriptors. After the
warm-up (a fifth of the run, at least a minute), it fails if either keeps growing: memory when
the mean of the last third exceeds the mean of the middle third by more than 15 % and the
last sample is the highest; descriptors when the last third's highest exceeds the warm-up's
highest by more than 25 (connections come and go; a leak does not go).

Usage: scripts/soak.py [--minutes 30] [--domains 20000] [--rddsd target/release/rddsd]
Needs: python3, a release build (cargo build --release). Loopback only; binds ports 0.
Prints a summary and exits 1 on any failure.
"""

import argparse
import http.client
import json
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

ALLOWED = "127.0.0.1"
LIMITED = "127.0.10.1"


class Soak:
    def __init__(self, args):
        self.args = args
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.counts = {}
        self.failures = []
        self.samples = []  # (t, rss_kib, fds)
        self.request_ids = []

    # ----- bookkeeping -----
    def count(self, what):
        with self.lock:
            self.counts[what] = self.counts.get(what, 0) + 1

    def fail(self, what):
        with self.lock:
            if len(self.failures) < 50:
                self.failures.append(what)
        self.count("unexpected")

    # ----- setup -----
    def setup(self):
        a = self.args
        self.work = tempfile.mkdtemp(prefix="rddsd-soak-")
        self.data = os.path.join(self.work, "data")
        subprocess.run([sys.executable, "scripts/gen-registry.py", "--domains", str(a.domains),
                        "--out", self.data], check=True, stdout=subprocess.DEVNULL)
        self.domains = [json.loads(l) for l in open(os.path.join(self.data, "40-domains.jsonl"),
                                                     encoding="utf-8")]
        self.names = [d["name"] for d in self.domains]
        self.hosts = [json.loads(l)["name"] for l in
                      open(os.path.join(self.data, "20-hosts.jsonl"), encoding="utf-8")][:200]
        self.registrars = [json.loads(l)["ianaId"] for l in
                           open(os.path.join(self.data, "10-registrars.jsonl"), encoding="utf-8")]
        self.updated = json.loads(open(os.path.join(self.data, "00-registry.jsonl"),
                                       encoding="utf-8").readline())["updated"]
        self.deltas = os.path.join(self.work, "deltas")
        os.makedirs(self.deltas)
        creds = os.path.join(self.work, "credentials.json")
        out = subprocess.run([a.rddsd, "authority", "add", "--credentials", creds, "--authority",
                              "Soak Police", "--jurisdiction", "CH", "--contact",
                              "desk@police.example", "--purposes", "criminal-investigation",
                              "--expires", "2099-01-01"], check=True, capture_output=True,
                             text=True).stdout
        self.token = re.search(r"secret \(shown once, store it safely\): (\S+)", out).group(1)
        self.log = os.path.join(self.work, "disclosures.log")
        conf = os.path.join(self.work, "rddsd.toml")
        with open(conf, "w") as f:
            f.write(f"""[rdap]
listen = ["127.0.0.1:0"]
max_per_client = 64
[whois]
listen = ["127.0.0.1:0"]
[admin]
listen = ["127.0.0.1:0"]
[data]
dir = "{self.data}"
delta_dir = "{self.deltas}"
[limits]
allow = ["{ALLOWED}/32"]
rate_per_second = 5
burst = 10
[authority]
credentials = "{creds}"
log = "{self.log}"
rate_per_minute = 6000
burst = 100
""")
        self.stderr = open(os.path.join(self.work, "rddsd.log"), "w")
        self.proc = subprocess.Popen([a.rddsd, "serve", "--config", conf], stdout=subprocess.PIPE,
                                     stderr=self.stderr, text=True)
        self.rdap = self.whois = self.admin = None
        for line in self.proc.stdout:
            if line.startswith("rdap listening on "):
                self.rdap = urllib.parse.urlparse(line.split()[-1]).netloc
            elif line.startswith("whois listening on "):
                self.whois = line.split()[-1]
            elif line.startswith("admin listening on "):
                self.admin = urllib.parse.urlparse(line.split()[-1]).netloc
            if self.rdap and self.whois and self.admin:
                break
        if not (self.rdap and self.whois and self.admin):
            sys.exit("rddsd did not start; see " + self.stderr.name)

    # ----- clients -----
    def http(self, conn_box, path, headers=None, source=ALLOWED):
        """One GET on a kept-alive connection (made again when the server closed it)."""
        for _ in range(2):
            if conn_box[0] is None:
                host, port = self.rdap.rsplit(":", 1)
                conn_box[0] = http.client.HTTPConnection(host, int(port), timeout=15,
                                                         source_address=(source, 0))
            try:
                conn_box[0].request("GET", path, headers=headers or {})
                r = conn_box[0].getresponse()
                body = r.read()
                if r.getheader("connection", "").lower() == "close":
                    conn_box[0].close()
                    conn_box[0] = None
                return r.status, r, body
            except (ConnectionError, http.client.HTTPException, socket.timeout, OSError):
                # A keep-alive connection the server closed (idle, max requests): once more.
                try:
                    conn_box[0].close()
                except Exception:
                    pass
                conn_box[0] = None
        return None, None, b""

    def rdap_worker(self, seed):
        rng = random.Random(seed)
        box = [None]
        hot = self.names[0]
        while not self.stop.is_set():
            roll = rng.random()
            if roll < 0.3:
                path, want, kind = f"/domain/{urllib.parse.quote(hot)}", (200,), "rdap-hot"
            elif roll < 0.75:
                path, want, kind = (f"/domain/{urllib.parse.quote(rng.choice(self.names))}",
                                    (200,), "rdap-random")
            elif roll < 0.9:
                path, want, kind = (f"/domain/nope-{rng.randrange(10**9)}.example", (404,),
                                    "rdap-not-found")
            elif roll < 0.96:
                path, want, kind = (f"/nameserver/{urllib.parse.quote(rng.choice(self.hosts))}",
                                    (200,), "rdap-host")
            else:
                path, want, kind = f"/entity/{rng.choice(self.registrars)}", (200,), "rdap-entity"
            status, _, _ = self.http(box, path)
            self.count(kind)
            if status not in want:
                self.fail(f"{kind} {path}: {status}")

    def whois_worker(self, seed):
        rng = random.Random(seed)
        host, port = self.whois.rsplit(":", 1)
        while not self.stop.is_set():
            missing = rng.random() < 0.2
            name = f"nope-{rng.randrange(10**9)}.example" if missing else rng.choice(self.names)
            try:
                with socket.create_connection((host, int(port)), timeout=15) as s:
                    s.sendall(name.encode() + b"\r\n")
                    data = b""
                    while True:
                        chunk = s.recv(65536)
                        if not chunk:
                            break
                        data += chunk
            except OSError as e:
                self.fail(f"whois {name}: {e}")
                continue
            text = data.decode("utf-8", "replace")
            self.count("whois")
            ok = text.startswith("NOT FOUND") if missing else \
                text.startswith("Domain Name:")
            if not ok:
                self.fail(f"whois {name}: {text[:80]!r}")

    def limited_worker(self):
        box = [None]
        rng = random.Random(99)
        while not self.stop.is_set():
            status, _, _ = self.http(box, f"/domain/{urllib.parse.quote(rng.choice(self.names))}",
                                     source=LIMITED)
            self.count(f"limited-{status}")
            if status not in (200, 404, 429):
                self.fail(f"limited client: {status}")
            if status == 429:
                time.sleep(0.2)

    def authority_worker(self):
        box = [None]
        rng = random.Random(7)
        while not self.stop.is_set():
            name = rng.choice(self.names)
            status, r, _ = self.http(box, f"/authority/domain/{urllib.parse.quote(name)}", {
                "Authorization": f"Bearer {self.token}",
                "RDDS-Purpose": "criminal-investigation",
                "RDDS-Legal-Basis": "soak test",
                "RDDS-Case-Reference": f"SOAK-{rng.randrange(10**6)}",
            })
            self.count("authority")
            if status != 200:
                self.fail(f"authority {name}: {status}")
            else:
                with self.lock:
                    self.request_ids.append(r.getheader("rdds-request-id"))
            self.stop.wait(0.5)

    def reloader(self):
        while not self.stop.wait(self.args.reload):
            self.proc.send_signal(signal.SIGHUP)
            self.count("reload-sent")

    def delta_writer(self):
        n = 0
        rng = random.Random(3)
        base = time.mktime(time.strptime(self.updated, "%Y-%m-%dT%H:%M:%SZ"))
        while not self.stop.wait(self.args.delta):
            n += 1
            d = dict(rng.choice(self.domains))
            d["statuses"] = rng.choice([["ok"], ["clientHold"], ["clientTransferProhibited"]])
            at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(base + 60 * n))
            d["updated"] = at
            body = json.dumps({"kind": "delta", "updated": at, "changes": 1}) + "\n" + \
                json.dumps(d) + "\n"
            tmp = os.path.join(self.deltas, f"{n:06d}.jsonl.tmp")
            with open(tmp, "w") as f:
                f.write(body)
            os.rename(tmp, os.path.join(self.deltas, f"{n:06d}.jsonl"))
            self.count("delta-sent")

    def sampler(self):
        pid = self.proc.pid
        start = time.monotonic()
        while True:
            try:
                rss = int(re.search(r"VmRSS:\s+(\d+)", open(f"/proc/{pid}/status").read()).group(1))
                fds = len(os.listdir(f"/proc/{pid}/fd"))
            except (OSError, AttributeError):
                self.fail("the server is gone")
                return
            self.samples.append((time.monotonic() - start, rss, fds))
            if self.stop.wait(self.args.sample):
                return

    # ----- verdict -----
    def verdict(self):
        total = self.args.minutes * 60
        warm = max(60, total / 5)
        after = [s for s in self.samples if s[0] >= warm]
        if len(after) >= 6:
            third = len(after) // 3
            middle = statistics.mean(s[1] for s in after[third:2 * third])
            last = statistics.mean(s[1] for s in after[2 * third:])
            if last > middle * 1.15 and after[-1][1] == max(s[1] for s in after):
                self.failures.append(f"resident memory keeps growing: {middle:.0f} KiB mean in the "
                                     f"middle third, {last:.0f} KiB in the last")
            warm_fds = max(s[2] for s in self.samples if s[0] < warm)
            last_fds = max(s[2] for s in after[2 * third:])
            if last_fds > warm_fds + 25:
                self.failures.append(f"open descriptors keep growing: {warm_fds} at warm-up, "
                                     f"{last_fds} at the end")
        else:
            self.failures.append("too few samples after the warm-up for a verdict")
        log = open(self.stderr.name, encoding="utf-8", errors="replace").read()
        reloads = log.count("reloaded")
        applied = len(os.listdir(os.path.join(self.deltas, "applied"))) \
            if os.path.isdir(os.path.join(self.deltas, "applied")) else 0
        refused = os.path.isdir(os.path.join(self.deltas, "refused")) and \
            os.listdir(os.path.join(self.deltas, "refused"))
        if reloads < self.counts.get("reload-sent", 0):
            self.failures.append(f"{self.counts.get('reload-sent', 0)} SIGHUPs, "
                                 f"{reloads} reloads logged")
        if refused:
            self.failures.append(f"deltas refused: {refused}")
        if applied < self.counts.get("delta-sent", 0) - 1:
            self.failures.append(f"{self.counts.get('delta-sent', 0)} deltas sent, {applied} applied")
        if not self.counts.get("limited-429"):
            self.failures.append("the limited client was never limited")
        logged = set()
        if os.path.exists(self.log):
            for line in open(self.log, encoding="utf-8"):
                m = re.search(r'"requestId":"([^"]+)"', line)
                if m:
                    logged.add(m.group(1))
        missing = [i for i in self.request_ids if i not in logged]
        if missing:
            self.failures.append(f"{len(missing)} disclosures without a log entry")
        if "panicked" in log:
            self.failures.append("the server log holds a panic")
        return reloads, applied, len(logged)

    def run(self):
        self.setup()
        def guarded(f, *a):
            """A client that raises is a failure of the run, not a silent lost thread."""
            def run():
                try:
                    f(*a)
                except Exception as e:  # noqa: BLE001 - any crash fails the soak
                    self.fail(f"{f.__name__} crashed: {e!r}")
            return threading.Thread(target=run)
        threads = [guarded(self.sampler)]
        threads += [guarded(self.rdap_worker, i) for i in range(4)]
        threads += [guarded(self.whois_worker, 10 + i) for i in range(2)]
        threads += [guarded(f) for f in
                    (self.limited_worker, self.authority_worker, self.reloader, self.delta_writer)]
        started = time.monotonic()
        for t in threads:
            t.start()
        try:
            while time.monotonic() - started < self.args.minutes * 60 and self.proc.poll() is None:
                time.sleep(1)
        finally:
            self.stop.set()
            for t in threads:
                t.join(timeout=30)
        took = time.monotonic() - started
        reloads, applied, logged = self.verdict()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.failures.append("no exit within 30 s of SIGTERM")
        rss = [s[1] for s in self.samples]
        fds = [s[2] for s in self.samples]
        print(f"soak: {took / 60:.1f} min, {self.args.domains} domains, rddsd {self.args.rddsd}")
        print("requests: " + ", ".join(f"{k} {v}" for k, v in sorted(self.counts.items())))
        served = sum(v for k, v in self.counts.items() if k.startswith(("rdap", "whois")))
        print(f"public lookups/s (all clients, both protocols): {served / took:.0f}")
        print(f"reloads logged {reloads}, deltas applied {applied}, disclosures logged {logged}")
        if rss:
            print(f"resident memory KiB: start {rss[0]}, max {max(rss)}, end {rss[-1]}; "
                  f"descriptors: start {fds[0]}, max {max(fds)}, end {fds[-1]}")
        print(f"samples (t s, RSS KiB, fds): {self.samples[:: max(1, len(self.samples) // 12)]}")
        if self.failures:
            print("FAIL:")
            for f in self.failures:
                print("  " + f)
            print(f"server log: {self.stderr.name}")
            return 1
        print("PASS")
        return 0


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--minutes", type=float, default=30)
    p.add_argument("--domains", type=int, default=20000)
    p.add_argument("--rddsd", default="target/release/rddsd")
    p.add_argument("--reload", type=float, default=60, help="seconds between SIGHUPs")
    p.add_argument("--delta", type=float, default=20, help="seconds between delta files")
    p.add_argument("--sample", type=float, default=10, help="seconds between samples")
    args = p.parse_args()
    os.chdir(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    sys.exit(Soak(args).run())


if __name__ == "__main__":
    main()
