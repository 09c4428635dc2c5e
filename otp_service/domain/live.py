"""Live settings shared by every replica through Redis, on top of the operator's baseline.

The baseline is what ``OTP_SETTINGS_FILE`` says (else the built-in defaults and ``OTP_PROVIDERS``),
checked at start-up; the document in Redis holds what admins changed on top of it
(:mod:`.settings_document`). Each process keeps the last document it read for at most ``max_age_s``
(0.5 s by default), so a change reaches new verifications on every replica within a second while a
busy replica reads the key at most twice a second instead of on every request.

When the document cannot be read (garbage, a value this release refuses), nothing falls back
silently: the replica keeps the last good settings it holds (the baseline if it holds none), logs
it once, reports it on ``/health/ready`` and in ``otp_settings_document_valid``, and refuses PATCH
with :class:`SettingsUnreadable` until an admin replaces the document (:meth:`replace`: ``PUT`` or
``otp-service settings reset``). A document that is gone (Redis restarted without persistence)
means the baseline, logged. Writes are compare-and-set on the stored bytes, so two admins patching
at once cannot lose each other's change, and the audit entries are written by the same script as
the change they describe.
"""

from __future__ import annotations

import asyncio
import enum
import time
from typing import Any

import msgspec
import structlog

from ..metrics import SETTINGS_DOCUMENT_VALID
from .errors import Conflict, SettingsInvalid, SettingsUnreadable, StoreUnavailable
from .policy import (
    LiveSettings,
    PolicyContext,
    SettingsPatch,
    apply_patch,
    default_settings,
    nist_warnings,
    validate_settings,
)
from .settings_document import Document, Unreadable, absent, digest, encode, parse
from .settings_store import WRONG_TYPE, SettingsStore
from .times import rfc3339

__all__ = ("AuditEntry", "DocumentState", "LiveSettingsSource")

log = structlog.get_logger("otp.settings")
_UNREADABLE_WARNING = (
    "the settings document in Redis is unreadable: this replica serves the last good settings it holds; "
    "replace the document (PUT /v1/admin/settings or `otp-service settings reset`)"
)


class DocumentState(enum.StrEnum):
    OK = "ok"
    UNREADABLE = "unreadable"


class AuditEntry(msgspec.Struct, frozen=True, kw_only=True):
    time: str
    admin: str
    field: str  # a settings field, or "*" for a whole document replaced (old/new: the overridden fields)
    old: Any
    new: Any


class LiveSettingsSource:
    def __init__(
        self,
        store: SettingsStore,
        baseline: LiveSettings,
        ctx: PolicyContext,
        *,
        max_age_s: float = 0.5,
        baseline_source: str = "built-in defaults",
        defaults: LiveSettings | None = None,
    ) -> None:
        self._store = store
        self._baseline = baseline
        # The previous release's baseline, to read its documents (they hold no "overridden" list).
        self._defaults = defaults or default_settings(baseline.providers)
        self._baseline_source = baseline_source
        self.ctx = ctx
        self._max_age_s = max_age_s
        self._settings: LiveSettings | None = None  # in force on this replica
        self._good: Document | None = None  # the last document read well (an absent one counts)
        self.state = DocumentState.OK
        SETTINGS_DOCUMENT_VALID.set(1)  # nothing read yet is nothing known bad; the first read decides
        self._read_at = 0.0
        self._failed_at = -1.0
        self._lock = asyncio.Lock()

    async def _fetch(self) -> tuple[str, Document | None]:
        """What the compare-and-set will expect, and the stored document (None when unreadable).

        The state, the metric and the log lines follow each read."""
        raw = await self._store.load()
        expected = "wrongtype" if raw is WRONG_TYPE else digest(raw)
        try:
            if raw is WRONG_TYPE:
                raise Unreadable("the key holds another Redis type, not a string")
            doc = absent(self._baseline) if raw is None else parse(raw, self._baseline, self._defaults)
        except Unreadable as exc:
            self._unreadable(exc.reason)
            return expected, None
        self._readable(doc)
        return expected, doc

    def _unreadable(self, reason: str) -> None:
        SETTINGS_DOCUMENT_VALID.set(0)
        if self.state is DocumentState.UNREADABLE:
            return
        self.state = DocumentState.UNREADABLE
        log.error(
            "settings.document_unreadable",
            reason=reason[:300],
            serving="last_good" if self._good is not None else "baseline",
            baseline=self._baseline_source,
            fix="PUT /v1/admin/settings or `otp-service settings reset`",
        )

    def _readable(self, doc: Document) -> None:
        SETTINGS_DOCUMENT_VALID.set(1)
        if self.state is DocumentState.UNREADABLE:
            log.info("settings.document_readable", version=doc.version)
        had_one = self._good is not None and not self._good.missing
        if doc.missing and (self._good is None or had_one):
            # A fresh deployment has none yet; one that disappears is Redis restarted without persistence.
            say = log.warning if had_one else log.info
            say("settings.document_missing", serving="baseline", baseline=self._baseline_source, lost=had_one)
        self.state = DocumentState.OK
        self._good = doc

    async def get(self) -> LiveSettings:
        settings = self._settings
        if settings is not None and time.monotonic() - self._read_at < self._max_age_s:
            return settings
        asked_at = time.monotonic()
        async with self._lock:  # one read per replica per refresh, not one per waiting request
            if self._settings is not None and time.monotonic() - self._read_at < self._max_age_s:
                return self._settings
            if self._failed_at >= asked_at:
                # The read this request waited for failed: fail with it. Reading again would queue
                # every waiting request behind the lock for one more store timeout each.
                raise StoreUnavailable("The verification store is unavailable.")
            try:
                _, doc = await self._fetch()
            except StoreUnavailable:
                self._failed_at = time.monotonic()
                raise
            if doc is None:  # unreadable: the last good settings, else the baseline (logged)
                doc = self._good or absent(self._baseline)
            settings = doc.settings
            self._settings, self._read_at = settings, time.monotonic()
            return settings

    @property
    def version(self) -> int:
        """The version of the last document read well (0: none)."""
        return self._good.version if self._good is not None else 0

    async def document_state(self) -> DocumentState:
        """For readiness: whether the document as last read (at most ``max_age_s`` ago) is usable."""
        await self.get()
        return self.state

    def warnings(self, settings: LiveSettings) -> list[str]:
        warnings = nist_warnings(settings, self.ctx)
        if self.state is DocumentState.UNREADABLE:
            warnings.insert(0, _UNREADABLE_WARNING)
        return warnings

    def _written(self, settings: LiveSettings) -> tuple[LiveSettings, list[str]]:
        self._settings, self._read_at = settings, time.monotonic()
        return settings, self.warnings(settings)

    async def update(self, patch: SettingsPatch, admin: str) -> tuple[LiveSettings, list[str]]:
        for _ in range(5):
            _, doc = await self._fetch()
            if doc is None:
                raise SettingsUnreadable(
                    "The settings document in Redis cannot be read, so a change cannot be merged into it. "
                    "Replace it whole: PUT /v1/admin/settings, or `otp-service settings reset` (the baseline)."
                )
            merged, changed = apply_patch(doc.settings, patch, self.ctx)
            if not changed:
                return self._written(doc.settings)
            entries = self._entries(admin, doc.settings, merged, changed)
            document = encode(doc, merged, doc.overrides | set(changed), doc.version + 1)
            if await self._store.swap(doc.digest, document, entries):
                self._readable(parse(document, self._baseline, self._defaults))
                return self._written(merged)
        raise Conflict("The settings changed concurrently; retry the request.")

    async def replace(self, values: SettingsPatch, admin: str) -> tuple[LiveSettings, list[str]]:
        """A whole new document: the given fields set, every other one from the baseline.

        Works whatever is stored (garbage included): this is how an unreadable document is repaired.
        What a newer release wrote is kept when the old document can still be read.
        """
        for _ in range(5):
            expected, old = await self._fetch()
            before = old.settings if old is not None else (self._good or absent(self._baseline)).settings
            settings, _ = apply_patch(self._baseline, values, self.ctx)
            named = {n for n in values.__struct_fields__ if getattr(values, n) is not msgspec.UNSET}
            overrides = frozenset(named)
            changed = [n for n in LiveSettings.__struct_fields__ if getattr(settings, n) != getattr(before, n)]
            entries = [
                msgspec.json.encode(
                    AuditEntry(
                        time=rfc3339(int(time.time() * 1000)),
                        admin=admin,
                        field="*",
                        old=sorted(old.overrides) if old is not None and not old.missing else None,
                        new=sorted(overrides),
                    )
                ),
                *self._entries(admin, before, settings, changed),
            ]
            version = max(old.version if old is not None else 0, self._good.version if self._good else 0) + 1
            document = encode(old, settings, overrides, version)
            if await self._store.swap(expected, document, entries):
                self._readable(parse(document, self._baseline, self._defaults))
                return self._written(settings)
        raise Conflict("The settings changed concurrently; retry the request.")

    @staticmethod
    def _entries(admin: str, old: LiveSettings, new: LiveSettings, changed: list[str]) -> list[bytes]:
        now = rfc3339(int(time.time() * 1000))
        before, after = msgspec.to_builtins(old), msgspec.to_builtins(new)
        # Newest first in the log (LPUSH): the whole-document entry, pushed first, ends up below these.
        return [
            msgspec.json.encode(AuditEntry(time=now, admin=admin, field=f, old=before[f], new=after[f]))
            for f in changed
        ]

    async def audit(self, limit: int = 100) -> list[AuditEntry]:
        """Newest first; an entry this release cannot read (hand-written, or a newer shape) is skipped,
        not a 500 for the whole log."""
        entries = []
        for raw in await self._store.audit_log(limit):
            try:
                entries.append(msgspec.json.decode(raw, type=AuditEntry))
            except (msgspec.DecodeError, RecursionError):
                continue
        return entries

    def check_defaults(self) -> None:
        """Fail start-up if the baseline is itself invalid for this deployment's providers."""
        try:
            validate_settings(self._baseline, self.ctx)
        except SettingsInvalid as exc:
            name = "OTP_PROVIDERS" if self._baseline_source == "built-in defaults" else "OTP_SETTINGS_FILE"
            raise ValueError(f"{name}: {exc.detail}") from exc
