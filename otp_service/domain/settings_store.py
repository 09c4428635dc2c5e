"""The live settings document and its audit log in Redis (both on the ``{settings}`` slot)."""

from __future__ import annotations

from collections.abc import Sequence

from .redis_store import RedisStore

__all__ = ("SettingsStore",)


class SettingsStore:
    def __init__(self, store: RedisStore) -> None:
        self._store = store

    async def load(self) -> bytes | None:
        key = self._store.keys.settings
        value = await self._store.run(lambda: self._store.redis.get(key))
        return value if isinstance(value, bytes) or value is None else str(value).encode()

    async def swap(self, expected_version: int, document: bytes, audit: Sequence[bytes]) -> bool:
        """Compare-and-set on the version; the audit entries are written only with the change."""
        keys = [self._store.keys.settings, self._store.keys.audit]
        return bool(
            await self._store.script(self._store.scripts.settings_cas, keys, [expected_version, document, *audit])
        )

    async def audit_log(self, limit: int) -> list[bytes]:
        key = self._store.keys.audit
        values = await self._store.run(lambda: self._store.redis.lrange(key, 0, limit - 1))
        return [v if isinstance(v, bytes) else str(v).encode() for v in values]
