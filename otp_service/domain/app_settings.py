"""Per-app settings: each app's overrides on top of the global live settings.

An app's effective settings are the global ones (``/v1/admin/settings``) with the fields it
overrides replaced; an app with no overrides simply uses the global ones, and a global change
reaches every field an app does not override. Overrides are stored as the fields' values (one small
JSON object per app on the ``{settings}`` slot) and checked against the current global settings
with the same rules as a global change, so a PATCH that would make the app's settings invalid is
refused whole. If a later global change makes an app's stored overrides break a rule, the app falls
back to the global settings (logged) rather than failing its sends. While the global document is
unreadable, apps keep their overrides on the last good global settings and a PATCH answers 503
(like a global one) until an admin replaces the document.

Each replica keeps an app's overrides for ``max_age_s`` (like the global document), so a change
reaches every replica within that time.
"""

from __future__ import annotations

import time
from typing import Any

import msgspec
import structlog

from .errors import Conflict, SettingsUnreadable, ValidationFailed
from .live import AuditEntry, DocumentState, LiveSettingsSource
from .policy import LiveSettings, SettingsPatch, apply_patch
from .redis_store import RedisStore
from .settings_document import digest
from .times import rfc3339

__all__ = ("AppSettings", "AppSettingsView")

log = structlog.get_logger("otp.settings")


class AppSettingsView(msgspec.Struct, frozen=True, kw_only=True):
    app: str
    effective: LiveSettings
    overridden: dict[str, Any]
    warnings: list[str]


def _patch(overrides: dict[str, Any]) -> SettingsPatch:
    try:
        return msgspec.convert(overrides, SettingsPatch)
    except msgspec.ValidationError as exc:
        raise ValidationFailed(str(exc), [{"field": "body", "message": str(exc)}]) from None


class AppSettings:
    def __init__(self, store: RedisStore, live: LiveSettingsSource, *, max_age_s: float) -> None:
        self._store = store
        self._live = live
        self._max_age_s = max_age_s
        self._cache: dict[str, tuple[float, bytes | None]] = {}

    async def _raw(self, app: str) -> bytes | None:
        key = self._store.keys.app_settings(app)
        value = await self._store.run(lambda: self._store.redis.get(key))
        return value if isinstance(value, bytes) or value is None else str(value).encode()

    @staticmethod
    def _decode(app: str, raw: bytes | None) -> dict[str, Any]:
        if raw is None:
            return {}
        try:
            overrides = msgspec.json.decode(raw)
        except msgspec.DecodeError:
            overrides = None
        if not isinstance(overrides, dict):
            log.warning("settings.app_overrides_unreadable", app=app)
            return {}
        return overrides

    async def overrides(self, app: str) -> dict[str, Any]:
        cached = self._cache.get(app)
        if cached is None or time.monotonic() - cached[0] >= self._max_age_s:
            cached = (time.monotonic(), await self._raw(app))
            self._cache[app] = cached
        return self._decode(app, cached[1])

    async def effective(self, app: str) -> LiveSettings:
        """The settings a verification of ``app`` uses (the global ones when it overrides nothing)."""
        base = await self._live.get()
        overrides = await self.overrides(app) if app else {}
        if not overrides:
            return base
        try:
            merged, _ = apply_patch(base, _patch(overrides), self._live.ctx)
        except ValidationFailed:
            log.warning("settings.app_overrides_invalid", app=app, serving="global")
            return base
        return merged

    async def view(self, app: str) -> AppSettingsView:
        self._cache.pop(app, None)
        effective = await self.effective(app)
        overridden = await self.overrides(app)
        return AppSettingsView(
            app=app, effective=effective, overridden=overridden, warnings=self._warnings(app, effective)
        )

    def _warnings(self, app: str, settings: LiveSettings) -> list[str]:
        return [f"app {app}: {warning}" for warning in self._live.warnings(settings)]

    async def update(self, app: str, changes: dict[str, Any], admin: str) -> AppSettingsView:
        """Set the given fields; a ``null`` removes that override (the global value applies again)."""
        _patch({name: value for name, value in changes.items() if value is not None})  # names and types
        unknown = sorted(set(changes) - set(SettingsPatch.__struct_fields__))
        if unknown:
            raise ValidationFailed(
                f"Unknown settings: {', '.join(unknown)}", [{"field": unknown[0], "message": "unknown"}]
            )
        if await self._live.document_state() is DocumentState.UNREADABLE:
            # The overrides are checked against the global settings: not against a stale copy of them.
            raise SettingsUnreadable(
                "The global settings document in Redis cannot be read, so an app's overrides cannot be checked "
                "against it. Replace it first: PUT /v1/admin/settings, or `otp-service settings reset`."
            )
        for _ in range(5):
            raw = await self._raw(app)
            old = self._decode(app, raw)
            new = {**old, **changes}
            new = {name: value for name, value in new.items() if value is not None}
            base = await self._live.get()
            before = await self.effective(app)
            after, _ = apply_patch(base, _patch(new), self._live.ctx)  # SettingsInvalid: a 400, nothing written
            new = msgspec.to_builtins(_patch(new))  # normalized: what the app overrides, as stored
            if new == old:
                return await self.view(app)
            entries = self._entries(app, admin, before, after, old, new)
            key, audit = self._store.keys.app_settings(app), self._store.keys.audit
            document = msgspec.json.encode(new)
            written = await self._store.script(
                self._store.scripts.settings_cas, [key, audit], [digest(raw), document, *entries]
            )
            if written:
                self._cache[app] = (time.monotonic(), document)
                log.info("settings.app_changed", app=app, fields=sorted(set(old) ^ set(new) | _changed(old, new)))
                return AppSettingsView(app=app, effective=after, overridden=new, warnings=self._warnings(app, after))
        raise Conflict("The settings changed concurrently; retry the request.")

    @staticmethod
    def _entries(
        app: str, admin: str, before: LiveSettings, after: LiveSettings, old: dict[str, Any], new: dict[str, Any]
    ) -> list[bytes]:
        now = rfc3339(int(time.time() * 1000))
        was, now_is = msgspec.to_builtins(before), msgspec.to_builtins(after)
        fields = sorted(set(old) ^ set(new) | _changed(old, new))
        return [
            msgspec.json.encode(
                AuditEntry(
                    time=now,
                    admin=admin,
                    field=f"apps.{app}.{name}",
                    old=old.get(name, was[name]),
                    new=new.get(name, now_is[name]),
                )
            )
            for name in fields
        ]


def _changed(old: dict[str, Any], new: dict[str, Any]) -> set[str]:
    return {name for name in set(old) & set(new) if old[name] != new[name]}
