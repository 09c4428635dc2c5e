"""Idempotency-Key entries in Redis, on the phone number's slot.

An entry is claimed as ``pending:<fingerprint>`` while the first request runs, then holds the
response document until its TTL; a request that fails gives its claim back so a retry can run.
"""

from __future__ import annotations

import enum

from .redis_store import RedisStore, as_text

__all__ = ("IdempotencyState", "IdempotencyStore")


class IdempotencyState(enum.StrEnum):
    """What ``idem_begin.lua`` answered (its return strings, unchanged)."""

    NEW = "new"  # claimed by this request
    BUSY = "busy"  # an earlier request with this key is still running
    DONE = "done"  # an earlier request finished; its document is stored


class IdempotencyStore:
    def __init__(self, store: RedisStore) -> None:
        self._store = store

    async def begin(self, phone: str, digest: str, fingerprint: str, ttl_ms: int) -> tuple[IdempotencyState, str]:
        """The state and, when busy, the holder's fingerprint; when done, the stored document."""
        key = self._store.keys.idempotency(phone, digest)
        res = await self._store.script(self._store.scripts.idem_begin, [key], [fingerprint, ttl_ms])
        return IdempotencyState(as_text(res[0])), as_text(res[1]) if len(res) > 1 else ""

    async def commit(self, phone: str, digest: str, document: bytes, ttl_ms: int) -> None:
        key = self._store.keys.idempotency(phone, digest)
        await self._store.run(lambda: self._store.redis.set(key, document, px=ttl_ms))

    async def abort(self, phone: str, digest: str, fingerprint: str) -> None:
        key = self._store.keys.idempotency(phone, digest)
        await self._store.script(self._store.scripts.idem_abort, [key], [fingerprint])
