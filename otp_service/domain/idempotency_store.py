"""Idempotency-Key entries in Redis, on the phone number's slot.

An entry is claimed as ``pending:<token>:<fingerprint>`` while the first request runs, then holds the
response document until its TTL; a request that fails gives its claim back by its token so a retry can
run, safely before or after a claim that reached a stalled Redis late (see ``redis_store``).
"""

from __future__ import annotations

import enum

from .errors import StoreUnavailable
from .redis_store import TOKEN_TTL_MS, RedisStore, as_text

__all__ = ("IdempotencyState", "IdempotencyStore")


class IdempotencyState(enum.StrEnum):
    """What ``idem_begin.lua`` answered (its return strings, unchanged)."""

    NEW = "new"  # claimed by this request
    BUSY = "busy"  # an earlier request with this key is still running
    DONE = "done"  # an earlier request finished; its document is stored


class IdempotencyStore:
    def __init__(self, store: RedisStore) -> None:
        self._store = store

    async def begin(
        self, phone: str, digest: str, fingerprint: str, ttl_ms: int, *, token: str
    ) -> tuple[IdempotencyState, str]:
        """The state and, when busy, the holder's fingerprint; when done, the stored document."""
        keys = [self._store.keys.idempotency(phone, digest), self._store.keys.token(phone, token)]
        res = await self._store.script(self._store.scripts.idem_begin, keys, [fingerprint, ttl_ms, token])
        if as_text(res[0]) == "released":
            raise StoreUnavailable("This request was given up already.")
        return IdempotencyState(as_text(res[0])), as_text(res[1]) if len(res) > 1 else ""

    async def commit(self, phone: str, digest: str, document: bytes, ttl_ms: int) -> None:
        key = self._store.keys.idempotency(phone, digest)
        await self._store.run(lambda: self._store.redis.set(key, document, px=ttl_ms))

    async def abort(self, phone: str, digest: str, *, token: str) -> None:
        keys = [self._store.keys.idempotency(phone, digest), self._store.keys.token(phone, token)]
        await self._store.script(self._store.scripts.idem_abort, keys, [token, TOKEN_TTL_MS])
