"""The load driver used when ``wrk`` is not on PATH: asyncio + httpx, in its own process.

Same profiles, pools and outcome keys as ``benchmarks/wrk/*.lua`` (see ``common.lua``): a fixed number
of concurrent workers, each sending its next request as soon as the previous one answered, for a fixed
time. It prints nothing; the result goes to ``--out`` as JSON. Unlike wrk it also keeps latencies per
request kind (send, right, wrong, read), which the mixed profile reports.

    python -m benchmarks.driver --profile send --url http://127.0.0.1:8000 --duration 15 \
        --concurrency 32 --range 65 --out result.json        # API key in BENCH_API_KEY
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

__all__ = ("classify", "main")

_RANGE = re.compile(rb'"to":"\+34(\d\d)')
_PERCENTILES = (50, 90, 95, 99, 99.9)


def classify(status: int, body: bytes) -> str:
    """``<status>:<kind>:<range>``, exactly as ``common.lua`` counts it."""
    if b'"valid":true' in body:
        kind = "valid_true"
    elif b'"valid":false' in body:
        kind = "valid_false"
    elif b'"delivery":{"status":"unknown"' in body:  # a 201 whose SMS may never have gone out
        kind = "record_unknown"
    elif b'"delivery":' in body:
        kind = "record"
    else:
        kind = "other"
    found = _RANGE.search(body)
    return f"{status}:{kind}:{found.group(1).decode() if found else '--'}"


def _load_pool(path: str | None) -> list[tuple[str, str, str]]:
    if not path:
        return []
    items = []
    for line in Path(path).read_text().splitlines():
        phone, code, vid = line.split()
        items.append((phone, code, vid))
    return items


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10 ** len(code):0{len(code)}d}"


class Plan:
    """The next request of a profile: (kind, method, path, json body)."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.profile = args.profile
        self.range = args.range
        self.pattern = args.pattern
        self.uses = args.uses
        self.pool = _load_pool(args.pool)
        self.wrong_pool = _load_pool(args.wrong_pool)
        self.sent = 0
        self.picked: Counter[str] = Counter()
        self.wrapped = 0
        self.slot = 0

    def _pick(self, name: str, pool: list[tuple[str, str, str]], uses: int) -> tuple[str, str, str]:
        k = self.picked[name]
        self.picked[name] += 1
        if k // len(pool) >= uses:
            self.wrapped += 1
        return pool[k % len(pool)]

    def _send(self) -> tuple[str, str, str, Any]:
        number = self.sent
        self.sent += 1
        return "send", "POST", "/v1/verifications", {"to": f"+34{self.range}{number:07d}"}

    def next(self) -> tuple[str, str, str, Any]:
        if self.profile == "floor":
            return "floor", "GET", "/health/live", None
        if self.profile == "send":
            return self._send()
        if self.profile == "check_wrong":
            phone, code, _ = self._pick("wrong", self.pool, self.uses)
            return "wrong", "POST", "/v1/verifications/check", {"to": phone, "code": _wrong(code)}
        if self.profile == "check_right":
            phone, code, _ = self._pick("right", self.pool, 1)
            return "right", "POST", "/v1/verifications/check", {"to": phone, "code": code}
        kind = self.pattern[self.slot]
        self.slot = (self.slot + 1) % len(self.pattern)
        if kind == "S":
            return self._send()
        if kind == "R":
            phone, code, _ = self._pick("right", self.pool, 1)
            return "right", "POST", "/v1/verifications/check", {"to": phone, "code": code}
        if kind == "W":
            phone, code, _ = self._pick("wrong", self.wrong_pool, self.uses)
            return "wrong", "POST", "/v1/verifications/check", {"to": phone, "code": _wrong(code)}
        _, _, vid = self._pick("read", self.wrong_pool, 1_000_000)
        return "read", "GET", f"/v1/verifications/{vid}", None


def _summary(latencies: list[float]) -> dict[str, Any]:
    if not latencies:
        return {"count": 0}
    latencies.sort()
    return {
        "count": len(latencies),
        "mean": round(sum(latencies) / len(latencies), 3),
        "max": round(latencies[-1], 3),
        "percentiles": {
            str(q): round(latencies[min(len(latencies) - 1, int(len(latencies) * q / 100))], 3) for q in _PERCENTILES
        },
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    plan = Plan(args)
    outcomes: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    latencies: list[float] = []
    by_kind: dict[str, list[float]] = {}
    headers = {"Authorization": f"Bearer {os.environ.get('BENCH_API_KEY', '')}"}
    limits = httpx.Limits(max_connections=args.concurrency, max_keepalive_connections=args.concurrency)
    max_requests = int(args.max_requests)
    started = time.perf_counter()
    deadline = started + args.duration
    async with httpx.AsyncClient(base_url=args.url, headers=headers, limits=limits, timeout=10.0) as client:

        async def worker() -> None:
            while time.perf_counter() < deadline and len(latencies) + sum(errors.values()) < max_requests:
                kind, method, path, body = plan.next()
                began = time.perf_counter()
                try:
                    response = await client.request(method, path, json=body)
                except httpx.TimeoutException:
                    errors["timeout"] += 1
                    continue
                except httpx.ConnectError:
                    errors["connect"] += 1
                    continue
                except httpx.HTTPError:
                    errors["read"] += 1
                    continue
                elapsed = (time.perf_counter() - began) * 1000
                latencies.append(elapsed)
                by_kind.setdefault(kind, []).append(elapsed)
                outcomes[classify(response.status_code, response.content)] += 1

        await asyncio.wait_for(asyncio.gather(*(worker() for _ in range(args.concurrency))), args.duration + 30)
    duration = time.perf_counter() - started
    return {
        "requests": len(latencies),
        "duration_us": int(duration * 1e6),
        "errors": {"connect": errors["connect"], "read": errors["read"], "write": 0, "timeout": errors["timeout"]},
        "latency_ms": _summary(list(latencies)),
        "latency_ms_by_kind": {kind: _summary(values) for kind, values in by_kind.items()},
        "outcomes": dict(outcomes),
        "wrapped": plan.wrapped,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", required=True, choices=["send", "check_wrong", "check_right", "mixed", "floor"])
    parser.add_argument("--url", required=True)
    parser.add_argument("--duration", type=float, required=True)
    parser.add_argument("--concurrency", type=int, required=True)
    parser.add_argument("--range", default="65", help="two digits after +34 for new numbers (sends)")
    parser.add_argument("--pool", help="pool file (check profiles; the right pool for mixed)")
    parser.add_argument("--wrong-pool", help="mixed: the pool for wrong checks and status reads")
    parser.add_argument("--uses", type=int, default=20, help="wrong checks per pool item")
    parser.add_argument("--pattern", default="SRSRSRSRWG")
    parser.add_argument("--max-requests", type=float, default=5e6, help="hard bound on requests")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    try:
        import uvloop  # what the service's uvicorn uses too

        result = uvloop.run(run(args))
    except ImportError:
        result = asyncio.run(run(args))
    args.out.write_text(json.dumps(result))


if __name__ == "__main__":
    main()
