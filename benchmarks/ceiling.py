"""The machine's own ceiling: what the service could do at best on these cores.

* argon2id hash and verify throughput with the service's parameters (``DEFAULT_ARGON2``, or what
  ``--service-env OTP_ARGON2_*`` gives the service) and
  its own ``CodeHasher`` (HMAC with the pepper, then argon2id), one thread per core: argon2-cffi
  releases the GIL, so threads use every core like processes do. Each figure is a time-bounded run.
* A Redis round trip of the store's main scripts (``begin_send`` for a send, ``take_attempt`` for a
  check) through the service's own stores (``LimitWindows``, ``VerificationStore``) and redis-py
  client: latency of one caller, and calls/s with 32 concurrent callers in one asyncio process.
* The client CPU of one vendor call through the service's own HTTP client (httpx over aiohttp,
  ``make_http_client``), against the vendor fake: what a send's delivery costs the service itself.

    python -m benchmarks.ceiling          # just these figures
"""

from __future__ import annotations

import asyncio
import os
import statistics
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from otp_service.domain.codes import DEFAULT_ARGON2, Argon2Params, CodeHasher

from .argon2_params import one_call_ms

__all__ = ("argon2_ceiling", "machine_busy_share", "redis_round_trip", "vendor_call")


def _rate(op: Callable[[int], object], threads: int, seconds: float) -> float:
    """ops/s of ``op`` run in a tight loop by ``threads`` threads for ``seconds``."""
    counts = [0] * threads
    start_gate = threading.Barrier(threads + 1)
    deadline = 0.0

    def loop(slot: int) -> None:
        start_gate.wait()
        n = 0
        while time.perf_counter() < deadline:
            op(slot * 1_000_000 + n)
            n += 1
        counts[slot] = n

    workers = [threading.Thread(target=loop, args=(i,), daemon=True) for i in range(threads)]
    for worker in workers:
        worker.start()
    began = time.perf_counter()
    deadline = began + seconds
    start_gate.wait()
    for worker in workers:
        worker.join(timeout=seconds + 30)
    return sum(counts) / (time.perf_counter() - began)


def _machine_busy() -> tuple[float, float]:
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values[:8]) - idle, sum(values[:8])


def machine_busy_share(seconds: float = 1.0) -> float:
    """How busy the whole machine is right now (0..1), over ``seconds``."""
    busy0, total0 = _machine_busy()
    time.sleep(seconds)
    busy1, total1 = _machine_busy()
    return (busy1 - busy0) / (total1 - total0) if total1 > total0 else 0.0


def argon2_ceiling(
    seconds: float = 3.0, threads: int | None = None, params: Argon2Params = DEFAULT_ARGON2
) -> dict[str, Any]:
    """Hash and verify throughput with every core busy, plus single-call latency.

    Also reports how much of the machine other processes used meanwhile (``other_share``): a ceiling
    measured on a busy machine is too low, which is why the benchmark keeps the best of two.
    """
    cores = os.cpu_count() or 1
    busy0, total0 = _machine_busy()
    own0 = time.process_time()
    threads = threads or cores
    hasher = CodeHasher(b"benchmark-pepper-" * 2, params, threads=1)
    try:
        stored = hasher.hash_sync("vf_bench", "123456")
        hash_ms, verify_ms = one_call_ms(hasher, stored, rounds=20)
        hash_rate = _rate(lambda i: hasher.hash_sync("vf_bench", f"{i % 1_000_000:06d}"), threads, seconds)
        # Mostly wrong codes, like an attacker's checks; a right one costs the same.
        verify_rate = _rate(lambda i: hasher.verify_sync(stored, "vf_bench", f"{i % 1_000_000:06d}"), threads, seconds)
    finally:
        hasher.close()
    busy1, total1 = _machine_busy()
    tick = os.sysconf("SC_CLK_TCK")
    other = max(0.0, (busy1 - busy0) / tick - (time.process_time() - own0))
    other_share = other / ((total1 - total0) / tick) if total1 > total0 else 0.0
    return {
        "params": {"time_cost": params.time_cost, "memory_kib": params.memory_kib, "parallelism": params.parallelism},
        "threads": threads,
        "cores": cores,
        "seconds_each": seconds,
        "hash_ms_one_thread": round(statistics.median(hash_ms), 3),
        "verify_ms_one_thread": round(statistics.median(verify_ms), 3),
        "hash_per_s": round(hash_rate, 1),
        "verify_per_s": round(verify_rate, 1),
        "verify_per_s_per_core": round(verify_rate / cores, 1),
        "other_share": round(other_share, 3),
    }


async def _redis_figures(url: str, seconds: float, concurrency: int) -> dict[str, Any]:
    from otp_service.domain.redis_store import RedisStore
    from otp_service.domain.verification_store import TakeOutcome, VerificationStore
    from otp_service.domain.windows import LimitWindows
    from otp_service.redis_client import make_redis

    client = make_redis(url, timeout_s=5.0)
    base = RedisStore(client)
    store, windows = VerificationStore(base), LimitWindows(base)
    counter = iter(range(10**8))

    def phone() -> str:
        return f"+3469{next(counter):07d}"

    async def begin_send() -> None:
        await windows.begin_send(phone(), limit=5, window_ms=600_000, token=uuid.uuid4().hex, lock_ms=20_000)

    # One live verification with an attempt budget that never runs out, checked over and over.
    checked = phone()
    await store.commit_send(
        checked,
        "vf_" + "0" * 32,
        fresh=True,
        ttl_ms=3_600_000,
        cooldown_ms=0,
        lock_token="x",
        max_attempts=10**9,
        fields={"to": checked, "code_hash": "x", "code_length": 6, "mode": "local", "provider": "gatum"},
    )

    async def take_attempt() -> None:
        taken = await store.take_attempt(checked, expected_id="", limit=10**9, window_ms=60_000, token=uuid.uuid4().hex)
        assert taken.outcome is TakeOutcome.OK, taken

    results: dict[str, Any] = {"concurrency": concurrency}
    try:
        for name, call in (("begin_send", begin_send), ("take_attempt", take_attempt)):
            for _ in range(50):  # warm up (script load, connection)
                await call()
            latencies: list[float] = []
            sequential_deadline = time.perf_counter() + seconds / 2
            while time.perf_counter() < sequential_deadline and len(latencies) < 20_000:
                began = time.perf_counter()
                await call()
                latencies.append((time.perf_counter() - began) * 1000)
            latencies.sort()
            done = 0
            deadline = time.perf_counter() + seconds / 2

            async def worker(call: Callable[[], Any] = call, deadline: float = deadline) -> None:
                nonlocal done
                while time.perf_counter() < deadline:
                    await call()
                    done += 1

            began, cpu_began = time.perf_counter(), time.process_time()
            await asyncio.gather(*(worker() for _ in range(concurrency)))
            cpu_us = (time.process_time() - cpu_began) / max(done, 1) * 1e6
            results[name] = {
                "round_trip_ms_p50": round(latencies[len(latencies) // 2], 3),
                "round_trip_ms_p99": round(latencies[int(len(latencies) * 0.99)], 3),
                "calls_per_s_concurrent": round(done / (time.perf_counter() - began), 1),
                "client_cpu_us_per_call": round(cpu_us, 1),
            }
    finally:
        await client.aclose()
    return results


def redis_round_trip(url: str, seconds: float = 2.0, concurrency: int = 32) -> dict[str, Any]:
    return asyncio.run(_redis_figures(url, seconds, concurrency))


async def _vendor_figures(url: str, seconds: float, concurrency: int) -> dict[str, Any]:
    import resource

    from otp_service.http_client import make_http_client

    client = make_http_client(None, total_timeout_s=10.0)
    body = {"to": "34600000000", "text": "Your code is 123456"}

    async def call() -> None:
        response = await client.post(f"{url}/__bench/vendor-call", json=body)
        response.read()

    def cpu() -> float:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime

    try:
        for _ in range(20):  # warm up: connections, the first request's imports
            await call()
        done = 0
        deadline = time.perf_counter() + seconds

        async def worker() -> None:
            nonlocal done
            while time.perf_counter() < deadline:
                await call()
                done += 1

        began = cpu()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return {
            "concurrency": concurrency,
            "calls": done,
            "client_cpu_us_per_call": round((cpu() - began) / max(done, 1) * 1e6, 1),
        }
    finally:
        await client.aclose()


def vendor_call(url: str, seconds: float = 2.0, concurrency: int = 16) -> dict[str, Any]:
    """Client CPU per vendor call (the fake's answer, whatever it is, is read like a vendor's)."""
    return asyncio.run(_vendor_figures(url, seconds, concurrency))


def main() -> None:
    import json

    from otp_service.devredis import RedisProcess

    print(json.dumps(argon2_ceiling(), indent=2))
    with RedisProcess() as redis:
        print(json.dumps(redis_round_trip(redis.url), indent=2))


if __name__ == "__main__":
    main()
