"""Measure argon2id cost on this machine for candidate parameters (the README's security table).

Usage: python -m benchmarks.argon2_params
Prints, per parameter set: median hash and verify time on one thread, and verifies/s with one
thread per core (argon2-cffi releases the GIL, so threads use every core).
"""

from __future__ import annotations

import os
import statistics
import time
from concurrent.futures import ThreadPoolExecutor

from otp_service.domain.codes import Argon2Params, CodeHasher

CANDIDATES = [(3, 65536), (2, 19456), (1, 16384), (1, 8192), (1, 4096), (1, 1024)]


def one_call_ms(hasher: CodeHasher, stored: str, rounds: int) -> tuple[list[float], list[float]]:
    """Milliseconds of each of ``rounds`` hashes and verifies (a wrong code, as most checks are), on this thread."""
    hash_ms, verify_ms = [], []
    for i in range(rounds):
        start = time.perf_counter()
        hasher.hash_sync("vf_bench", f"{i:06d}")
        hash_ms.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        hasher.verify_sync(stored, "vf_bench", f"{i:06d}")
        verify_ms.append((time.perf_counter() - start) * 1000)
    return hash_ms, verify_ms


def measure(time_cost: int, memory_kib: int, rounds: int = 30) -> dict[str, float]:
    hasher = CodeHasher(b"x" * 32, Argon2Params(time_cost, memory_kib), threads=1)
    stored = hasher.hash_sync("vf_bench", "123456")
    hash_ms, verify_ms = one_call_ms(hasher, stored, rounds)
    cores = os.cpu_count() or 1
    n = max(40, int(2000 / max(statistics.median(verify_ms), 0.1)))
    with ThreadPoolExecutor(cores) as pool:
        start = time.perf_counter()
        list(pool.map(lambda i: hasher.verify_sync(stored, "vf_bench", f"{i:06d}"), range(n)))
        all_cores = n / (time.perf_counter() - start)
    hasher.close()
    return {
        "hash_ms": statistics.median(hash_ms),
        "verify_ms": statistics.median(verify_ms),
        "verify_per_s_all_cores": all_cores,
        "core_hours_for_1e6_guesses": 1e6 * statistics.median(verify_ms) / 1000 / 3600,
    }


def main() -> None:
    print(f"cores: {os.cpu_count()}")
    print(f"{'t':>2} {'m KiB':>6} {'hash ms':>8} {'verify ms':>9} {'verify/s all cores':>19} {'core-h per 10^6':>16}")
    for t, m in CANDIDATES:
        r = measure(t, m)
        print(
            f"{t:>2} {m:>6} {r['hash_ms']:>8.2f} {r['verify_ms']:>9.2f} "
            f"{r['verify_per_s_all_cores']:>19.0f} {r['core_hours_for_1e6_guesses']:>16.2f}"
        )


if __name__ == "__main__":
    main()
