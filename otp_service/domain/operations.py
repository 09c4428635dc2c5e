"""What the operations routes may do: read and change the live settings, read their audit log,
and tell whether the store answers. The routes call these methods and never the store."""

from __future__ import annotations

import asyncio
from typing import Protocol

from .errors import StoreUnavailable
from .live import AuditEntry, LiveSettingsSource
from .policy import LiveSettings, SettingsPatch

__all__ = ("Operations",)


class _Pingable(Protocol):
    async def ping(self) -> bool: ...


class Operations:
    def __init__(self, live: LiveSettingsSource, store: _Pingable, *, ready_timeout_s: float = 1.0) -> None:
        self._live = live
        self._store = store
        self._ready_timeout_s = ready_timeout_s

    async def settings(self) -> tuple[LiveSettings, list[str]]:
        """The live settings and the NIST warnings about them."""
        settings = await self._live.get()
        return settings, self._live.warnings(settings)

    async def update_settings(self, patch: SettingsPatch, *, admin: str) -> tuple[LiveSettings, list[str]]:
        """All of ``patch`` or nothing, audited under ``admin``."""
        return await self._live.update(patch, admin=admin)

    async def audit(self, limit: int) -> list[AuditEntry]:
        return await self._live.audit(limit)

    async def ready(self) -> bool:
        """Whether the store answers within the probe's budget (a probe must not hang on a dead Redis)."""
        try:
            async with asyncio.timeout(self._ready_timeout_s):
                return await self._store.ping()
        except (StoreUnavailable, TimeoutError):
            return False
