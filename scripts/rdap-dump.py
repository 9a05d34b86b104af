#!/usr/bin/env python3
"""Helpers for scripts/load.sh's random workload against icann-rdap-srv.

  dump     fetch the domain answers of the first N domains of a generated registry from a
           running rddsd, and write each as one icann-rdap-srv memory-store file (one RDAP
           response per `.json` file in a flat directory: its data-dir format); also write the
           names served (their ldhName, the A-label both servers key on) one a line.
  paths    a list of random `/domain/<name>` paths out of those names (or out of all the
           domains of a registry, for rddsd alone).
  compare  fetch a sample of paths from both servers and say whether the bodies are
           byte-identical, or else equal as JSON and in what way they differ.

Keep-alive `http.client` connections, several worker processes: about 100,000 answers in well
under a minute, where one curl per name would take many minutes.
"""

import argparse
import http.client
import json
import multiprocessing
import os
import random
import sys
import urllib.parse

ACCEPT = {"Accept": "application/rdap+json"}  # icann-rdap-srv 0.0.30 panics without one (#233)


def get(conn, path):
    """GET on a keep-alive connection; http.client reconnects after `Connection: close`."""
    conn.request("GET", path, headers=ACCEPT)
    resp = conn.getresponse()
    return resp.status, resp.read()


def dump_slice(args):
    port, out, names, start = args
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    ldh = []
    for i, name in enumerate(names, start):
        status, body = get(conn, "/domain/" + urllib.parse.quote(name))
        if status != 200:
            raise SystemExit(f"rddsd answered {status} for {name}")
        a_label = json.loads(body)["ldhName"]
        if a_label != name:
            # An IDN: the notice links carry the request URL as sent, and the benchmark asks
            # for the A-label, so store the answer to that spelling.
            status, body = get(conn, "/domain/" + a_label)
            if status != 200:
                raise SystemExit(f"rddsd answered {status} for {a_label}")
        with open(os.path.join(out, f"{i}.json"), "wb") as f:
            f.write(body)
        ldh.append(a_label)
    return ldh


def dump(a):
    names = []
    with open(os.path.join(a.data, "40-domains.jsonl"), encoding="utf-8") as f:
        for line in f:
            names.append(json.loads(line)["name"])
            if len(names) == a.count:
                break
    os.makedirs(a.out, exist_ok=True)
    step = -(-len(names) // a.workers)
    jobs = [(a.port, a.out, names[s:s + step], s) for s in range(0, len(names), step)]
    with multiprocessing.Pool(a.workers) as pool:
        parts = pool.map(dump_slice, jobs)
    with open(a.names, "w") as f:
        for part in parts:
            f.writelines(n + "\n" for n in part)
    print(f"{len(names)} domain answers fetched from rddsd into {a.out}")


def paths(a):
    if a.names:
        names = open(a.names).read().split()
    else:  # straight from a registry: rddsd takes U-labels percent-encoded
        with open(os.path.join(a.data, "40-domains.jsonl"), encoding="utf-8") as f:
            names = [urllib.parse.quote(json.loads(line)["name"]) for line in f]
    rng = random.Random(7)
    with open(a.out, "w") as f:
        for _ in range(a.count):
            f.write(f"/domain/{rng.choice(names)}\n")


def compare(a):
    lines = open(a.paths).read().split()
    sample = random.Random(11).sample(lines, min(a.sample, len(lines)))
    c1 = http.client.HTTPConnection("127.0.0.1", a.port1, timeout=30)
    c2 = http.client.HTTPConnection("127.0.0.1", a.port2, timeout=30)
    same_bytes = same_json = same_len = 0
    diffs = set()
    for path in sample:
        s1, b1 = get(c1, path)
        s2, b2 = get(c2, a.prefix2 + path)
        if s1 != 200 or s2 != 200:
            raise SystemExit(f"{path}: rddsd {s1}, icann-rdap-srv {s2}")
        same_bytes += b1 == b2
        same_len += len(b1) == len(b2)
        j1, j2 = json.loads(b1), json.loads(b2)
        for k in set(j1) | set(j2):
            if j1.get(k) != j2.get(k):
                diffs.add(k)
        # JSON equality ignores member order; rdapConformance is a set in meaning.
        for j in (j1, j2):
            j["rdapConformance"] = sorted(j.get("rdapConformance", []))
        same_json += j1 == j2
    n = len(sample)
    print(f"body check, {n} random paths: {same_bytes}/{n} byte-identical, {same_len}/{n} same "
          f"length, {same_json}/{n} equal as JSON up to member order and rdapConformance order"
          + (f" (members whose value differs before that: {', '.join(sorted(diffs))})" if diffs else ""))
    if same_json != n:
        sys.exit("bodies differ: the comparison would not be like for like")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("dump")
    d.add_argument("--port", type=int, required=True)
    d.add_argument("--data", required=True)
    d.add_argument("--count", type=int, required=True)
    d.add_argument("--out", required=True)
    d.add_argument("--names", required=True)
    d.add_argument("--workers", type=int, default=4)
    p = sub.add_parser("paths")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--names", help="names written by dump")
    src.add_argument("--data", help="a generated registry")
    p.add_argument("--count", type=int, default=200000)
    p.add_argument("--out", required=True)
    c = sub.add_parser("compare")
    c.add_argument("--paths", required=True)
    c.add_argument("--port1", type=int, required=True)
    c.add_argument("--port2", type=int, required=True)
    c.add_argument("--prefix2", default="/rdap")
    c.add_argument("--sample", type=int, default=500)
    a = ap.parse_args()
    {"dump": dump, "paths": paths, "compare": compare}[a.cmd](a)


if __name__ == "__main__":
    main()
