"""What the operations routes may do: read and change the live settings, read their audit log,
and tell whether the store answers. The routes call these methods and never the store."""

from __future__ import annotations

import asyncio
from typing import Protocol

from .errors import StoreUnavailable
from .live import AuditEntry, DocumentState, LiveSettingsSource
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

    async def replace_settings(self, values: SettingsPatch, *, admin: str) -> tuple[LiveSettings, list[str]]:
        """A whole new document (the given fields, the rest from the baseline): the repair for an
        unreadable one, audited under ``admin``."""
        return await self._live.replace(values, admin=admin)

    async def audit(self, limit: int) -> list[AuditEntry]:
        return await self._live.audit(limit)

    async def ready(self) -> DocumentState | None:
        """None when the store does not answer within the probe's budget (a probe must not hang on a
        dead Redis); else the state of the live settings document, which every replica shares."""
        try:
            async with asyncio.timeout(self._ready_timeout_s):
                if not await self._store.ping():
                    return None
                return await self._live.document_state()
        except (StoreUnavailable, TimeoutError):
            return None
