#!/usr/bin/env python3
"""HTTP/1.1 load clients for scripts/flood.sh that choose their source address.

rddsd keys its harvesting defence on the peer address (X-Forwarded-For only from a trusted
proxy), and wrk cannot bind one. Every address in 127.0.0.0/8 is local on Linux, so these
clients bind 127.x.y.z before they connect and the server sees that many distinct clients.

  others  normal lookups at a fixed total rate, open loop, from ADDRS addresses starting at
          --first (one keep-alive connection each, the rate split evenly). A request that could
          not be sent on time because an earlier answer was late counts from when it was due, so
          a stalled server cannot hide its queue by slowing the client down (no coordinated
          omission); one sent on time counts from its sending.
  flood   enumeration: random not-found names as fast as CONNS connections can go, closed loop.
          Each connection binds the next address of a pool of --addrs starting at --first and
          keeps it until the server closes the connection (a refusal carries Connection: close),
          then takes the next one.

Each prints one JSON object: requests, statuses, achieved rate, and for `others` latency
percentiles in milliseconds.
"""

import argparse
import asyncio
import ipaddress
import json
import random
import sys
import time
from collections import Counter


class Closed(Exception):
    """The server closed the connection (after its last answer or without one)."""


async def exchange(reader, writer, path):
    """One request on an open connection: (status, server_closes)."""
    writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/rdap+json\r\n\r\n".encode())
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError) as e:
        raise Closed() from e
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length, close = 0, False
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value)
        elif name == "connection" and "close" in value.lower():
            close = True
    try:
        await reader.readexactly(length)
    except (asyncio.IncompleteReadError, ConnectionError) as e:
        raise Closed() from e
    return status, close


async def connect(port, source):
    return await asyncio.open_connection("127.0.0.1", port, local_addr=(str(source), 0))


def close(writer):
    try:
        writer.close()
    except OSError:
        pass


async def others(a):
    paths = open(a.paths).read().split()
    rng = random.Random(3)
    first = ipaddress.IPv4Address(a.first)
    interval = a.addrs / a.rate  # each address's share of the rate
    start = time.monotonic() + 0.1
    end = start + a.duration
    latencies, statuses = [], Counter()

    async def client(k):
        source = first + k
        conn = None
        due = start + interval * k / a.addrs  # spread the addresses' phases over one interval
        while due < end:
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
                # On time: count from the actual send, so the event loop's timer granularity
                # (up to 1 ms late) is not charged to the server.
                since = time.monotonic()
            else:
                # Behind schedule because an earlier answer was slow: count from when this
                # request was due, so the queue it waited in is charged.
                since = due
            path = paths[rng.randrange(len(paths))]
            for attempt in (1, 2):
                try:
                    if conn is None:
                        conn = await connect(a.port, source)
                    status, closes = await exchange(*conn, path)
                    break
                except (Closed, ConnectionError):
                    # A keep-alive connection the server closed while idle: one retry on a
                    # fresh one, as any client does; a second failure is an error.
                    if conn:
                        close(conn[1])
                    conn = None
                    if attempt == 2:
                        status, closes = "error", True
            latencies.append(time.monotonic() - since)
            statuses[str(status)] += 1
            if closes and conn:
                close(conn[1])
                conn = None
            due += interval
        if conn:
            close(conn[1])

    await asyncio.gather(*(client(k) for k in range(a.addrs)))
    latencies.sort()

    def pct(p):
        return round(latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))] * 1000, 2)

    print(json.dumps({"requests": len(latencies), "statuses": dict(statuses),
                      "rate": round(len(latencies) / a.duration, 1), "addresses": a.addrs,
                      "p50_ms": pct(50), "p90_ms": pct(90), "p99_ms": pct(99),
                      "max_ms": round(latencies[-1] * 1000, 2)}))


async def flood(a):
    rng = random.Random(5)
    first = ipaddress.IPv4Address(a.first)
    statuses = Counter()
    used = [0]
    end = time.monotonic() + a.duration

    async def worker():
        while time.monotonic() < end:
            source = first + used[0] % a.addrs
            used[0] += 1
            try:
                conn = await connect(a.port, source)
            except OSError:
                statuses["connect error"] += 1
                await asyncio.sleep(0.01)
                continue
            try:
                while time.monotonic() < end:
                    status, closes = await exchange(*conn, f"/domain/nope-{rng.randrange(10**12)}.example")
                    statuses[str(status)] += 1
                    if closes:
                        break
            except (Closed, ConnectionError):
                statuses["closed"] += 1
            close(conn[1])

    started = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(a.conns)))
    took = time.monotonic() - started
    print(json.dumps({"requests": sum(statuses.values()), "statuses": dict(statuses),
                      "rate": round(sum(statuses.values()) / took, 1),
                      "connections": used[0], "addresses": min(used[0], a.addrs)}))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    o = sub.add_parser("others")
    o.add_argument("--paths", required=True, help="one /domain/<name> path a line")
    o.add_argument("--rate", type=float, required=True, help="requests per second, all addresses")
    o.add_argument("--addrs", type=int, default=20)
    f = sub.add_parser("flood")
    f.add_argument("--conns", type=int, default=100)
    f.add_argument("--addrs", type=int, default=65536)
    for p in (o, f):
        p.add_argument("--port", type=int, required=True)
        p.add_argument("--first", required=True, help="first source address, in 127.0.0.0/8")
        p.add_argument("--duration", type=float, required=True, help="seconds")
    a = ap.parse_args()
    if not ipaddress.IPv4Address(a.first) + (a.addrs - 1) in ipaddress.IPv4Network("127.0.0.0/8"):
        sys.exit("the source addresses must stay inside 127.0.0.0/8")
    asyncio.run(others(a) if a.cmd == "others" else flood(a))


if __name__ == "__main__":
    main()
