"""Live settings shared by every replica through Redis.

Each process keeps the last document it read for at most ``max_age_s`` (0.5 s by default), so a
change reaches new verifications on every replica within a second while a busy replica reads the
key at most twice a second instead of on every request. Updates are compare-and-set on a version
number, so two admins patching at once cannot lose each other's change, and the audit entries are
written by the same script as the change they describe.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import msgspec

from .errors import Conflict, SettingsInvalid, StoreUnavailable
from .policy import LiveSettings, PolicyContext, SettingsPatch, apply_patch, nist_warnings, validate_settings
from .settings_store import SettingsStore
from .times import rfc3339

__all__ = ("AuditEntry", "LiveSettingsSource")


class _Document(msgspec.Struct):
    version: int
    settings: LiveSettings


class AuditEntry(msgspec.Struct, frozen=True, kw_only=True):
    time: str
    admin: str
    field: str
    old: Any
    new: Any


class LiveSettingsSource:
    def __init__(
        self, store: SettingsStore, defaults: LiveSettings, ctx: PolicyContext, *, max_age_s: float = 0.5
    ) -> None:
        self._store = store
        self._defaults = defaults
        self.ctx = ctx
        self._max_age_s = max_age_s
        self._cached: _Document | None = None
        self._read_at = 0.0
        self._failed_at = -1.0
        self._lock = asyncio.Lock()

    async def _read(self) -> _Document:
        raw = await self._store.load()
        if raw is None:
            return _Document(version=0, settings=self._defaults)
        try:
            return msgspec.json.decode(raw, type=_Document)
        except msgspec.ValidationError:
            # A document written by a newer or older release: keep serving with the defaults
            # rather than failing every request; an admin PATCH rewrites it.
            return _Document(version=0, settings=self._defaults)

    async def get(self) -> LiveSettings:
        doc = self._cached
        if doc is not None and time.monotonic() - self._read_at < self._max_age_s:
            return doc.settings
        asked_at = time.monotonic()
        async with self._lock:  # one read per replica per refresh, not one per waiting request
            if self._cached is not None and time.monotonic() - self._read_at < self._max_age_s:
                return self._cached.settings
            if self._failed_at >= asked_at:
                # The read this request waited for failed: fail with it. Reading again would queue
                # every waiting request behind the lock for one more store timeout each.
                raise StoreUnavailable("The verification store is unavailable.")
            try:
                doc = await self._read()
            except StoreUnavailable:
                self._failed_at = time.monotonic()
                raise
            self._cached, self._read_at = doc, time.monotonic()
            return doc.settings

    def warnings(self, settings: LiveSettings) -> list[str]:
        return nist_warnings(settings, self.ctx)

    async def update(self, patch: SettingsPatch, admin: str) -> tuple[LiveSettings, list[str]]:
        for _ in range(5):
            doc = await self._read()
            merged, changed = apply_patch(doc.settings, patch, self.ctx)
            if not changed:
                return doc.settings, self.warnings(doc.settings)
            now = rfc3339(int(time.time() * 1000))
            old = msgspec.to_builtins(doc.settings)
            new = msgspec.to_builtins(merged)
            audit = [
                msgspec.json.encode(AuditEntry(time=now, admin=admin, field=f, old=old[f], new=new[f])) for f in changed
            ]
            document = msgspec.json.encode(_Document(version=doc.version + 1, settings=merged))
            if await self._store.swap(doc.version, document, audit):
                self._cached, self._read_at = _Document(doc.version + 1, merged), time.monotonic()
                return merged, self.warnings(merged)
        raise Conflict("The settings changed concurrently; retry the request.")

    async def audit(self, limit: int = 100) -> list[AuditEntry]:
        return [msgspec.json.decode(raw, type=AuditEntry) for raw in await self._store.audit_log(limit)]

    def check_defaults(self) -> None:
        """Fail start-up if the environment's defaults are themselves invalid."""
        try:
            validate_settings(self._defaults, self.ctx)
        except SettingsInvalid as exc:
            raise ValueError(f"OTP_PROVIDERS: {exc.detail}") from exc
