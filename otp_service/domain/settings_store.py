"""The live settings document and its audit log in Redis (both on the ``{settings}`` slot)."""

from __future__ import annotations

from collections.abc import Sequence

from redis.exceptions import ResponseError

from .redis_store import RedisStore

__all__ = ("WRONG_TYPE", "SettingsStore")

WRONG_TYPE = b"\x00wrong-type"  # what load() returns when the key holds a hash, a list...: unreadable


class SettingsStore:
    def __init__(self, store: RedisStore) -> None:
        self._store = store

    async def load(self) -> bytes | None:
        """The stored document; :data:`WRONG_TYPE` when the key is not a string (a GET there is an
        error, which must not read as "Redis is down")."""
        key = self._store.keys.settings

        async def get() -> object:
            try:
                return await self._store.redis.get(key)
            except ResponseError as exc:
                if str(exc).startswith("WRONGTYPE"):
                    return WRONG_TYPE
                raise

        value = await self._store.run(get)
        return value if isinstance(value, bytes) or value is None else str(value).encode()

    async def swap(self, expected_digest: str, document: bytes, audit: Sequence[bytes]) -> bool:
        """Compare-and-set on the digest of the stored bytes ("" for none, "wrongtype" for a key of
        another type), so a document this release cannot read can still be replaced; the audit
        entries are written only with the change."""
        keys = [self._store.keys.settings, self._store.keys.audit]
        return bool(
            await self._store.script(self._store.scripts.settings_cas, keys, [expected_digest, document, *audit])
        )

    async def audit_log(self, limit: int) -> list[bytes]:
        key = self._store.keys.audit
        values = await self._store.run(lambda: self._store.redis.lrange(key, 0, limit - 1))
        return [v if isinstance(v, bytes) else str(v).encode() for v in values]
