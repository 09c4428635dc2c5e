"""A light prober of ``GET /health/live``, in its own process, while a phase saturates the service.

It holds several keep-alive connections and uses them in turn at a fixed rate (20/s by default).
Keep-alive matters: a connection stays with the worker that accepted it, so a worker whose event loop
is blocked shows up as a slow answer; fresh connections would be accepted by whichever worker is free
and hide it. With 8 connections over 2 workers, both workers are almost surely sampled.

    python -m benchmarks.prober --url http://127.0.0.1:8000 --duration 15 --out probe.json
"""

from __future__ import annotations

import argparse
import http.client
import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

__all__ = ("main", "probe")


def probe(url: str, *, duration_s: float, rate: float, connections: int, path: str = "/health/live") -> dict[str, Any]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    conns: list[http.client.HTTPConnection | None] = [None] * connections
    latencies: list[float] = []
    errors: list[str] = []
    interval = 1.0 / rate
    max_samples = int(duration_s * rate) + 1
    started = time.monotonic()
    deadline = started + duration_s
    i = 0
    while i < max_samples and time.monotonic() < deadline:
        slot = i % connections
        conn = conns[slot]
        if conn is None:
            conn = conns[slot] = http.client.HTTPConnection(host, port, timeout=5)
        began = time.perf_counter()
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            response.read()
            if response.status != 200:
                errors.append(f"status {response.status}")
            latencies.append((time.perf_counter() - began) * 1000)
        except (OSError, http.client.HTTPException) as exc:
            errors.append(type(exc).__name__)
            conn.close()
            conns[slot] = None
        i += 1
        pause = started + i * interval - time.monotonic()
        if pause > 0:
            time.sleep(pause)
    for conn in conns:
        if conn is not None:
            conn.close()
    latencies.sort()

    def pct(q: float) -> float | None:
        return round(latencies[min(len(latencies) - 1, int(len(latencies) * q))], 3) if latencies else None

    return {
        "samples": len(latencies),
        "errors": len(errors),
        "error_kinds": sorted(set(errors))[:5],
        "rate_per_s": rate,
        "connections": connections,
        "p50_ms": pct(0.50),
        "p95_ms": pct(0.95),
        "p99_ms": pct(0.99),
        "max_ms": round(latencies[-1], 3) if latencies else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True)
    parser.add_argument("--duration", type=float, required=True)
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    result = probe(args.url, duration_s=args.duration, rate=args.rate, connections=args.connections)
    args.out.write_text(json.dumps(result))


if __name__ == "__main__":
    main()
