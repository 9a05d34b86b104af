#!/usr/bin/env python3
"""A tiny DNS responder for conformance runs on loopback only.

ICANN's rdap-test resolves the RDAP host name itself (A and AAAA) through a configurable
resolver, and the gTLD profile requires the service on both IPv4 and IPv6. This stub answers
every A query with 127.0.0.1 and every AAAA query with ::1 (other types: empty NOERROR), so the
tester reaches rddsd over both families without any outside network.

Usage: dns-stub.py PORT   (binds 127.0.0.1:PORT/udp; stops after 30 minutes)
"""
import socket
import struct
import sys
import time

port = int(sys.argv[1])
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.bind(("127.0.0.1", port))
sock.settimeout(1.0)
deadline = time.time() + 1800
while time.time() < deadline:
    try:
        data, peer = sock.recvfrom(512)
    except socket.timeout:
        continue
    if len(data) < 12:
        continue
    qid, flags, qd = struct.unpack("!HHH", data[:6])
    # Walk the question name.
    i = 12
    while i < len(data) and data[i] != 0:
        i += data[i] + 1
    if i + 5 > len(data):
        continue
    qtype = struct.unpack("!H", data[i + 1:i + 3])[0]
    question = data[12:i + 5]
    answers = b""
    count = 0
    if qtype == 1:
        answers = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + socket.inet_aton("127.0.0.1")
        count = 1
    elif qtype == 28:
        answers = b"\xc0\x0c" + struct.pack("!HHIH", 28, 1, 60, 16) + socket.inet_pton(socket.AF_INET6, "::1")
        count = 1
    header = struct.pack("!HHHHHH", qid, 0x8180 | (flags & 0x0100), 1, count, 0, 0)
    sock.sendto(header + question + answers, peer)
