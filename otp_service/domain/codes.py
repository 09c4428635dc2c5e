"""Code generation and hashing.

Codes come from ``secrets`` and are uniform over all ``10**n`` values (leading zeros kept). Only an
argon2id hash is stored, and what is hashed is ``HMAC-SHA256(pepper, verification_id ":" code)``:

* the pepper lives outside Redis, so a Redis dump alone cannot be brute-forced at all (10**6 guesses
  are only checkable with the key);
* binding the verification id stops a hash being copied onto another verification;
* argon2id on top means that even with the pepper, every guess still costs real CPU and memory.

Hashing runs in a small dedicated thread pool: argon2-cffi releases the GIL, so the pool uses every
core while the event loop keeps serving other requests (one slow hash never stalls them). On Linux
the hashing threads also run at a lower scheduling priority (``nice`` +10, per thread): when the
machine is saturated, the kernel then runs the event loop as soon as it has work instead of giving
each argon2 thread its full time slice first. The loop needs little CPU, so hashing throughput stays
the same while ``/health/live`` and request parsing stop queuing behind hashes (measured with the
benchmark: ``/health/live`` p99 under send load fell from about 30 ms to 7 ms).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import os
import secrets
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import argon2
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

__all__ = ("DEFAULT_ARGON2", "Argon2Params", "CodeHasher", "generate_code")


def generate_code(length: int) -> str:
    if not 1 <= length <= 18:
        raise ValueError("code length out of range")
    return f"{secrets.randbelow(10**length):0{length}d}"


HASH_THREAD_NICE = 10


def _lower_priority() -> None:
    """Runs in each new hashing thread. Linux keeps a nice value per thread (elsewhere it would
    lower the whole process, event loop included, so it is left alone there)."""
    if sys.platform == "linux":
        with contextlib.suppress(OSError):  # a sandbox may forbid it: hashing still works
            tid = threading.get_native_id()
            os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + HASH_THREAD_NICE))


class Argon2Params:
    """argon2id cost. The default is measured and justified in the README ("Security")."""

    __slots__ = ("memory_kib", "parallelism", "time_cost")

    def __init__(self, time_cost: int, memory_kib: int, parallelism: int = 1) -> None:
        self.time_cost = time_cost
        self.memory_kib = memory_kib
        self.parallelism = parallelism


DEFAULT_ARGON2 = Argon2Params(time_cost=1, memory_kib=8192, parallelism=1)


class CodeHasher:
    def __init__(self, pepper: bytes, params: Argon2Params = DEFAULT_ARGON2, *, threads: int = 4) -> None:
        if not pepper:
            raise ValueError("pepper must not be empty")
        self._pepper = pepper
        self._hasher = argon2.PasswordHasher(
            time_cost=params.time_cost,
            memory_cost=params.memory_kib,
            parallelism=params.parallelism,
            hash_len=32,
            salt_len=16,
            type=argon2.Type.ID,
        )
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="argon2", initializer=_lower_priority)

    def _secret(self, verification_id: str, code: str) -> bytes:
        return hmac.new(self._pepper, f"{verification_id}:{code}".encode(), hashlib.sha256).digest()

    def hash_sync(self, verification_id: str, code: str) -> str:
        return self._hasher.hash(self._secret(verification_id, code))

    def verify_sync(self, code_hash: str, verification_id: str, code: str) -> bool:
        # argon2's verify compares digests in constant time.
        try:
            return self._hasher.verify(code_hash, self._secret(verification_id, code))
        except (VerifyMismatchError, InvalidHashError):
            return False
        except VerificationError:
            return False

    async def hash(self, verification_id: str, code: str) -> str:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self.hash_sync, verification_id, code)

    async def verify(self, code_hash: str, verification_id: str, code: str) -> bool:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self.verify_sync, code_hash, verification_id, code)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
