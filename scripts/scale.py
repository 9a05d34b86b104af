#!/usr/bin/env python3
"""One node at registry scale: start time, memory, reload peak and a 1,000-change delta.

Generates (or reuses) a registry of N domains with scripts/gen-registry.py, then measures with
the release binary:
  check      `rddsd check --data DIR`: wall time and peak resident memory;
  start      `rddsd serve` until it logs "listening", and the resident memory once settled;
  reload     a SIGHUP full reload: its duration, and the peak resident memory during it
             (sampled every 20 ms), next to the steady memory before it;
  delta      a delta of CHANGES changes (existing domains with new statuses and update times)
             dropped into [data] delta_dir: the server's own time to validate and apply it
             (rddsd_delta_last_duration_seconds), and the resident memory after;
  released   rddsd_data_generations_live after the reload and the delta (1: the old
             generations were dropped);
  lookups    cache-missing lookups of random existing names (wrk, scripts/walk.lua: a shuffled
             sample of SAMPLE names, each asked once; THREADS, CONNS, DURATION as pg-bench.sh),
             limiter off for loopback: 2xx/s, non-2xx, p50/p99.

The server runs with MIMALLOC_PURGE_DELAY=0, as the shipped systemd unit sets it (freed memory
goes back to the system at once); set PURGE_DELAY to another value to see the allocator default.

Usage: scripts/scale.py [--domains 1000000] [--changes 1000] [--work /tmp/rddsd-scale]
Needs: python3, a release build (cargo build --release). Loopback only.
"""

import argparse
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RDDSD = os.environ.get("RDDSD", os.path.join(ROOT, "target", "release", "rddsd"))


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def metric(admin, name):
    text = urllib.request.urlopen(f"http://{admin}/metrics", timeout=5).read().decode()
    m = re.search(r"^" + re.escape(name) + r" (\S+)$", text, re.M)
    return float(m.group(1)) if m else None


def wait_log(path, needle, timeout=600, after=0):
    start = time.time()
    while time.time() - start < timeout:
        with open(path, errors="replace") as f:
            text = f.read()
        if text.count(needle) > after:
            return time.time()
        time.sleep(0.02)
    sys.exit(f"timed out waiting for {needle!r}")


def lookups(data, work):
    """wrk over a shuffled sample of the data's names, each asked once: 2xx/s and the rest."""
    sample = int(os.environ.get("SAMPLE", "2000000"))
    threads = os.environ.get("THREADS", "2")
    names = []
    with open(os.path.join(data, "40-domains.jsonl"), encoding="utf-8") as f:
        for line in f:
            # The generator writes "name":"…" without escapes; anything else is parsed.
            at = line.find('"name":"')
            end = line.find('"', at + 8) if at >= 0 else -1
            name = line[at + 8:end] if end > 0 else ""
            names.append(name if name and "\\" not in name else json.loads(line)["name"])
    rng = random.Random(7)
    rng.shuffle(names)
    paths = os.path.join(work, "paths")
    with open(paths, "w") as f:
        for n in names[:sample]:
            f.write("/domain/" + urllib.parse.quote(n) + "\n")
    del names
    out = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{os.environ.get('CONNS', '32')}",
         f"-d{os.environ.get('DURATION', '10s')}", "--latency",
         "-s", os.path.join(ROOT, "scripts", "walk.lua"), "http://127.0.0.1:18198"],
        capture_output=True, text=True, env=dict(os.environ, PATHS=paths, THREADS=threads))
    t = out.stdout
    sys.path.insert(0, os.path.join(ROOT, "scripts"))
    from wrk_summary import served
    rps = re.search(r"Requests/sec:\s+([\d.]+)", t)
    ok, bad = served(t, rps.group(1) if rps else 0)
    total = re.search(r"(\d+) requests in", t)
    p50 = re.search(r"\s50%\s+(\S+)", t)
    p99 = re.search(r"\s99%\s+(\S+)", t)
    note = "" if total and int(total.group(1)) <= sample else " (more requests than names: some cached)"
    return (f"{ok:,.0f} 2xx/s, {bad} non-2xx, p50 {p50.group(1) if p50 else '?'}, "
            f"p99 {p99.group(1) if p99 else '?'}{note}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--domains", type=int, default=1_000_000)
    ap.add_argument("--changes", type=int, default=1000)
    ap.add_argument("--work", default=os.path.join(tempfile.gettempdir(), "rddsd-scale"))
    a = ap.parse_args()
    data = os.path.join(a.work, f"data-{a.domains}")
    if not os.path.exists(os.path.join(data, "40-domains.jsonl")):
        os.makedirs(data, exist_ok=True)
        subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "gen-registry.py"),
                        "--domains", str(a.domains), "--out", data], check=True)
    deltas = tempfile.mkdtemp(prefix="deltas-", dir=a.work)
    rows = []

    # check
    t = time.time()
    out = subprocess.run(["/usr/bin/time", "-f", "%M", RDDSD, "check", "--data", data],
                         capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(out.stderr)
    rows.append(("check: wall time", f"{time.time() - t:.1f} s"))
    rows.append(("check: peak resident", f"{int(out.stderr.split()[-1]) / 1024:.0f} MiB"))

    # start
    cfg = os.path.join(a.work, "scale.toml")
    with open(cfg, "w") as f:
        f.write(f'[data]\ndir = "{data}"\ndelta_dir = "{deltas}"\n'
                '[admin]\nlisten = ["127.0.0.1:18199"]\n[whois]\nlisten = []\n'
                '[limits]\nallow = ["127.0.0.0/8"]\n[rdap]\nmax_per_client = 1000\n')
    log = os.path.join(a.work, "serve.log")
    t = time.time()
    env = dict(os.environ, MIMALLOC_PURGE_DELAY=os.environ.get("PURGE_DELAY", "0"))
    proc = subprocess.Popen([RDDSD, "serve", "--config", cfg, "--rdap-listen", "127.0.0.1:18198"],
                            stdout=open(log, "w"), stderr=subprocess.STDOUT, env=env)
    try:
        ready = wait_log(log, "listening")
        rows.append(("serve: ready (listening) after", f"{ready - t:.1f} s"))
        time.sleep(3)
        steady = rss_kib(proc.pid)
        rows.append(("serve: steady resident", f"{steady / 1024:.0f} MiB"))

        # cache-missing lookups
        rows.append(("cache-missing lookups (wrk)", lookups(data, a.work)))

        # reload
        t = time.time()
        proc.send_signal(signal.SIGHUP)
        peak = steady
        while True:
            peak = max(peak, rss_kib(proc.pid))
            with open(log, errors="replace") as f:
                if "generation=2" in f.read():
                    break
            if time.time() - t > 600:
                sys.exit("reload did not finish")
            time.sleep(0.02)
        rows.append(("reload: duration", f"{time.time() - t:.1f} s"))
        rows.append(("reload: peak resident", f"{peak / 1024:.0f} MiB ({peak / steady:.2f}x steady)"))
        time.sleep(2)
        rows.append(("reload: resident after", f"{rss_kib(proc.pid) / 1024:.0f} MiB"))
        rows.append(("generations alive after reload",
                     f"{metric('127.0.0.1:18199', 'rddsd_data_generations_live'):.0f}"))

        # delta: the first CHANGES domains, with another status set and update time.
        changes = []
        with open(os.path.join(data, "40-domains.jsonl"), encoding="utf-8") as f:
            for line in f:
                if len(changes) >= a.changes:
                    break
                d = json.loads(line)
                d["statuses"] = ["clientTransferProhibited", "clientUpdateProhibited"]
                d["updated"] = "2099-01-01T00:00:00Z"
                changes.append(json.dumps(d, ensure_ascii=False, separators=(",", ":")))
        tmp = os.path.join(deltas, "0001.jsonl.tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(json.dumps({"kind": "delta", "updated": "2099-01-01T00:00:00Z",
                                "changes": len(changes)}) + "\n")
            f.write("\n".join(changes) + "\n")
        t = time.time()
        os.rename(tmp, os.path.join(deltas, "0001.jsonl"))
        while not os.path.exists(os.path.join(deltas, "applied", "0001.jsonl")):
            if os.path.exists(os.path.join(deltas, "refused", "0001.jsonl")):
                sys.exit(open(os.path.join(deltas, "refused", "0001.jsonl.errors")).read())
            if time.time() - t > 60:
                sys.exit("delta not applied")
            time.sleep(0.02)
        took = metric("127.0.0.1:18199", "rddsd_delta_last_duration_seconds")
        rows.append((f"delta of {len(changes)} changes: validate + apply",
                     f"{took * 1000:.0f} ms (seen applied {time.time() - t:.1f} s after the drop; "
                     "the directory is polled four times a second)"))
        time.sleep(2)
        rows.append(("delta: resident after", f"{rss_kib(proc.pid) / 1024:.0f} MiB"))
        rows.append(("generations alive after delta",
                     f"{metric('127.0.0.1:18199', 'rddsd_data_generations_live'):.0f}"))
    finally:
        proc.terminate()
        proc.wait()
    print(f"\n{a.domains} domains ({RDDSD}, MIMALLOC_PURGE_DELAY={env['MIMALLOC_PURGE_DELAY']})")
    for k, v in rows:
        print(f"  {k:<42} {v}")


if __name__ == "__main__":
    main()
