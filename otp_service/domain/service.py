"""The verification use cases: start (send or resend), check, status, cancel, delivery receipts.

Sending lives in ``sending.py`` and checking in ``checking.py``; this class owns their shared state.
"""

from __future__ import annotations

import time

import structlog

from providers import DeliveryStatus, DeliveryUpdate, Providers

from .app_settings import AppSettings
from .checking import CheckFlow
from .codes import CodeHasher
from .delivery_refresh import DeliveryRefresh
from .dispatcher import Dispatcher
from .errors import NotFound
from .events import EventSink, EventType
from .fallback import WhatsappFallback
from .fraud import FraudGuard
from .idempotency_store import IdempotencyStore
from .limits import SendLimiter
from .live import LiveSettingsSource
from .models import Verification
from .policy import LiveSettings
from .receipts import ReceiptBook
from .releases import Releases
from .sending import SendFlow, new_verification_id
from .verification_store import VerificationStore

__all__ = ("OtpService", "new_verification_id")


class OtpService(SendFlow, CheckFlow):
    def __init__(
        self,
        *,
        store: VerificationStore,
        idempotency: IdempotencyStore,
        live: LiveSettingsSource,
        limiter: SendLimiter,
        dispatcher: Dispatcher,
        hasher: CodeHasher,
        webotp_host: str | None = None,
        test_numbers_allowed: bool = False,
        apps: AppSettings | None = None,
        check_sources: bool = False,
        refresh_after_s: float = 0.0,
        fraud: FraudGuard | None = None,
        events: EventSink | None = None,
    ) -> None:
        self.store = store
        self.idempotency = idempotency
        self.live = live
        self.limiter = limiter
        self.releases: Releases = limiter.releases
        self.dispatcher = dispatcher
        self.events = events or EventSink()  # outbound events (none without a store)
        self.receipts = ReceiptBook(store, self.events)
        self.hasher = hasher
        self.webotp_host = webotp_host
        self.test_numbers_allowed = test_numbers_allowed
        self.apps = apps
        self.check_sources = check_sources
        self.refresh = DeliveryRefresh(store, self.receipts, dispatcher.providers, after_s=refresh_after_s)
        self.fraud = fraud
        self.fallback = WhatsappFallback(
            store, dispatcher, hasher, self._settings, webotp_host=webotp_host, fraud=fraud, events=self.events
        )

    async def _settings(self, client: str) -> LiveSettings:
        """The client app's effective settings (the global ones when it overrides nothing)."""
        return await self.apps.effective(client) if self.apps is not None else await self.live.get()

    @property
    def providers(self) -> Providers:
        return self.dispatcher.providers

    # -- status, cancel, receipts -------------------------------------------------------------
    async def get(self, verification_id: str, client: str = "") -> Verification:
        """Another app's verification reads as not found: an id proves nothing about who may see it."""
        e164 = await self.store.phone_for_id(verification_id)
        verification = await self.store.read(e164, verification_id) if e164 else None
        if verification is None or verification.client != client:
            raise NotFound("No verification with this id.")
        return verification

    async def status(self, verification_id: str, client: str = "") -> Verification:
        """:meth:`get`, with the delivery state asked of the vendor when its receipt is late."""
        verification = await self.get(verification_id, client)
        if await self.refresh.refresh(verification, int(time.time() * 1000)):
            verification = await self.store.read(verification.to, verification_id) or verification
        return verification

    async def cancel(self, verification_id: str, client: str = "") -> Verification:
        try:
            verification = await self.get(verification_id, client)
        except NotFound:
            raise NotFound("No pending verification with this id.") from None
        if not await self.store.cancel(verification.to, verification_id, client):
            raise NotFound("No pending verification with this id.")
        structlog.contextvars.bind_contextvars(verification_id=verification_id)
        await self.events.finished(EventType.CANCELED, vid=verification_id, e164=verification.to, app=client)
        return await self.get(verification_id, client)

    async def apply_receipts(self, provider: str, updates: list[DeliveryUpdate]) -> int:
        """Apply what can be matched to a verification; unknown ids are ignored. Returns how many applied.

        An undelivered WhatsApp code falls back to SMS here, on the replica the receipt reached."""
        applied_to: list[tuple[str, str, DeliveryStatus]] = []
        applied = await self.receipts.apply(provider, updates, applied_to)
        await self.fallback.after_receipts(applied_to)
        return applied
