"""What the load scripts read from wrk's output, in one place."""

import re


def served(t, rps):
    """2xx answers per second and the count of other answers: wrk's total minus its
    "Non-2xx or 3xx responses", over the run's duration. A refusal (503, 429) is not served
    work and never counts in the first figure."""
    total = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)", t)
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", t)
    bad = int(bad.group(1)) if bad else 0
    if not total:
        return (float(rps) if bad == 0 else float("nan")), bad
    n, d, unit = int(total.group(1)), float(total.group(2)), total.group(3)
    secs = d * {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}[unit]
    return (n - bad) / secs if secs > 0 else 0.0, bad
