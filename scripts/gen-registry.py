#!/usr/bin/env python3
"""Generate a large, valid registration data set in rddsd's JSON Lines format, deterministically.

For scale work (issue #11) and the benchmarks: the same arguments always give the same bytes.
The shape follows a real gTLD export: a few dozen registrars, one registrant per domain and a
shared pool of technical contacts, most domains delegated to DNS providers' name servers (out
of zone, no glue), some to their own in-zone name servers (with glue), some IDNs, some signed
(DS records), and the usual status mix. `rddsd check --data DIR` accepts the output.

Usage: scripts/gen-registry.py --domains 1000000 --out /tmp/registry-1m [--seed 1]
"""

import argparse
import json
import os
import random

FIRST = ["Ada", "Bram", "Chiara", "Dmitri", "Elif", "Femi", "Greta", "Hiro", "Ines", "Jonas",
         "Kavya", "Lars", "Mei", "Nour", "Oskar", "Priya", "Quentin", "Rosa", "Sven", "Tamar"]
LAST = ["Achterberg", "Bianchi", "Castellanos", "Dubois", "Eriksen", "Fitzgerald", "Gruber",
        "Haddad", "Ivanova", "Jansen", "Kowalski", "Lindqvist", "Moreau", "Nakamura", "Okafor"]
WORDS = ["alpine", "bakery", "cycle", "delta", "harbor", "lumen", "maple", "nova", "orbit",
         "pixel", "quartz", "river", "solar", "tandem", "umbra", "vivid", "willow", "zenith"]
IDN = ["müller", "café", "straße", "señor", "ærø", "blåbær", "dvořák", "łódź"]
PLACES = [  # city, state/province, postal code pattern, country, phone country code
    ("Portsmouth", "Hampshire", "PO1 {n}AA", "GB", "44"),
    ("Bergen", None, "50{n:02d}", "NO", "47"),
    ("Lyon", None, "6900{n}", "FR", "33"),
    ("Québec", "QC", "G1K {n}A1", "CA", "1"),
    ("Graz", None, "80{n:02d}", "AT", "43"),
    ("Osaka", None, "530-00{n:02d}", "JP", "81"),
    ("Lagos", None, "1000{n:02d}", "NG", "234"),
    ("Pristina", None, "100{n:02d}", "XK", "383"),
]
STATUS_MIX = [
    (["ok"], 40),
    (["clientTransferProhibited"], 30),
    (["clientDeleteProhibited", "clientTransferProhibited", "clientUpdateProhibited"], 15),
    (["ok", "addPeriod"], 5),
    (["clientHold"], 3),
    (["serverDeleteProhibited", "serverTransferProhibited", "serverUpdateProhibited"], 4),
    (["pendingDelete", "redemptionPeriod"], 3),
]
UPDATED = "2026-11-27T06:00:00Z"


def date(rng, start_year, end_year):
    y = rng.randint(start_year, end_year)
    return f"{y}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}Z"


def phone(rng, cc_code):
    return {"number": f"+{cc_code}.{rng.randint(10**8, 10**9 - 1)}"}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--domains", type=int, default=1000)
    ap.add_argument("--registrars", type=int, default=40)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    os.makedirs(args.out, exist_ok=True)
    statuses = [s for s, w in STATUS_MIX for _ in range(w)]

    def writer(name):
        return open(os.path.join(args.out, name), "w", encoding="utf-8", newline="\n")

    def line(f, obj):
        f.write(json.dumps(obj, ensure_ascii=False, separators=(",", ":")))
        f.write("\n")

    with writer("00-registry.jsonl") as f:
        line(f, {"kind": "registry", "tlds": ["example"], "updated": UPDATED})

    registrars = list(range(1001, 1001 + args.registrars))
    with writer("10-registrars.jsonl") as f:
        for iana in registrars:
            city, sp, pc, cc, code = PLACES[iana % len(PLACES)]
            host = f"registrar-{iana}.example.net"
            r = {"kind": "registrar", "ianaId": iana, "name": f"Registrar {iana} Ltd",
                 "url": f"https://{host}", "whoisServer": f"whois.{host}",
                 "rdapBaseUrl": f"https://rdap.{host}/", "abuseEmail": f"abuse@{host}",
                 "abusePhone": phone(rng, code),
                 "address": {"street": [f"{iana} Harbour Walk"], "city": city, "pc": pc.format(n=iana % 10), "cc": cc},
                 "voice": phone(rng, code), "email": f"info@{host}"}
            if sp:
                r["address"]["sp"] = sp
            line(f, r)

    # DNS providers' name servers: out of zone, no glue, registry-wide.
    providers = max(10, args.domains // 20000)
    provider_hosts = []
    host_roid = 0
    with writer("20-hosts.jsonl") as hosts:
        for p in range(providers):
            for n in (1, 2):
                host_roid += 1
                name = f"ns{n}.dns-provider-{p}.example.net"
                provider_hosts.append(name)
                line(hosts, {"kind": "host", "roid": f"H{host_roid}-EXAMPLE", "name": name,
                             "statuses": ["linked"], "registrar": registrars[p % len(registrars)],
                             "created": "2019-03-04T10:00:00Z"})

        tech_pool = max(100, args.domains // 10)
        with writer("30-contacts.jsonl") as contacts, writer("40-domains.jsonl") as domains:
            for t in range(tech_pool):
                city, sp, pc, cc, code = PLACES[t % len(PLACES)]
                c = {"kind": "contact", "roid": f"T{t}-EXAMPLE",
                     "name": f"{rng.choice(FIRST)} {rng.choice(LAST)}",
                     "org": f"{rng.choice(WORDS).title()} Hosting {t}",
                     "street": [f"{rng.randint(1, 999)} {rng.choice(WORDS).title()} Street"],
                     "city": city, "pc": pc.format(n=t % 10), "cc": cc,
                     "voice": phone(rng, code), "email": f"noc{t}@hosting-{t}.example.org",
                     "personType": "legal"}
                if sp:
                    c["sp"] = sp
                line(contacts, c)
            for i in range(args.domains):
                city, sp, pc, cc, code = PLACES[rng.randrange(len(PLACES))]
                legal = rng.random() < 0.3
                first, last = rng.choice(FIRST), rng.choice(LAST)
                c = {"kind": "contact", "roid": f"C{i}-EXAMPLE", "name": f"{first} {last}",
                     "street": [f"{rng.randint(1, 9999)} {rng.choice(WORDS).title()} Road"],
                     "city": city, "pc": pc.format(n=rng.randint(0, 9)), "cc": cc,
                     "voice": phone(rng, code),
                     "email": f"{first.lower()}.{last.lower()}{i}@mail-{i % 97}.example.org",
                     "personType": "legal" if legal else "natural"}
                if sp:
                    c["sp"] = sp
                if legal:
                    c["org"] = f"{last} {rng.choice(WORDS).title()} GmbH"
                if rng.random() < 0.05:
                    c["consent"] = ["name", "email"]
                line(contacts, c)

                base = rng.choice(IDN) if rng.random() < 0.03 else rng.choice(WORDS)
                name = f"{base}-{i}.example"
                created = date(rng, 2000, 2025)
                d = {"kind": "domain", "roid": f"D{i}-EXAMPLE", "name": name,
                     "statuses": rng.choice(statuses), "created": created,
                     "updated": date(rng, 2025, 2026) if rng.random() < 0.7 else None,
                     "expires": f"{int(created[:4]) + rng.randint(28, 30)}{created[4:]}",
                     "registrar": registrars[rng.randrange(len(registrars))],
                     "registrant": f"C{i}-EXAMPLE",
                     "tech": f"T{rng.randrange(tech_pool)}-EXAMPLE"}
                if d["updated"] is None:
                    del d["updated"]
                elif d["updated"] < created:
                    d["updated"] = created
                if rng.random() < 0.01:
                    # Its own name servers, in zone, with glue.
                    own = []
                    for n in (1, 2):
                        host_roid += 1
                        hname = f"ns{n}.{name}"
                        own.append(hname)
                        line(hosts, {"kind": "host", "roid": f"H{host_roid}-EXAMPLE", "name": hname,
                                     "addresses": [f"198.51.{(i >> 8) & 255}.{i & 255}",
                                                   f"2001:db8:{i & 0xffff:x}::{n}"],
                                     "statuses": ["linked"], "registrar": d["registrar"],
                                     "created": created})
                    d["nameservers"] = own
                elif rng.random() < 0.95:
                    p = rng.randrange(providers)
                    d["nameservers"] = [f"ns1.dns-provider-{p}.example.net", f"ns2.dns-provider-{p}.example.net"]
                if rng.random() < 0.2 and "nameservers" in d:
                    d["ds"] = [{"keyTag": rng.randint(1, 65535), "algorithm": 13, "digestType": 2,
                                "digest": "".join(rng.choice("0123456789ABCDEF") for _ in range(64))}]
                line(domains, d)


if __name__ == "__main__":
    main()
