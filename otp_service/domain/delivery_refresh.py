"""Delivery state from the vendor's status endpoint when its receipt is late.

Receipts get lost: a webhook URL set wrong in a vendor's portal, a callback that gave up retrying, a
vendor whose receipt names an id we cannot match. Where the vendor has a status endpoint (Wavy's
status query, Instasent's ``GET /sms/{id}``, Gatum's ``sms-full-data``: adapters implementing
:class:`~providers.DeliveryLookup`), a verification whose delivery state has not moved for
``after_s`` seconds is refreshed from it.

When: on a read of the verification (``GET /v1/verifications/{id}``), not in a background sweep.
The read is when the answer matters (an app asking "did the SMS arrive?"), it costs nothing for the
verifications nobody looks at, it needs no worker or scan of Redis keys (which a cluster makes
expensive), and it stops by itself when the code expires. Each refresh is claimed in Redis for
``after_s`` (``SET NX PX``), so any number of replicas and a client polling every second make at most
one vendor call per verification per period (Wavy allows one status query per second per address).
A failed lookup is logged and the read answers with what it had; it never fails the read.
"""

from __future__ import annotations

import msgspec
import structlog

from providers import DeliveryLookup, ProviderError, Providers

from .models import Status, Verification
from .phone import parse_phone
from .receipts import DELIVERY_RANK, ReceiptBook
from .verification_store import VerificationStore

__all__ = ("DeliveryRefresh",)

log = structlog.get_logger("otp_service.delivery")
_FINAL_RANK = 2


class DeliveryRefresh:
    def __init__(
        self, store: VerificationStore, receipts: ReceiptBook, providers: Providers, *, after_s: float
    ) -> None:
        self.store = store
        self.receipts = receipts
        self.providers = providers
        self.after_ms = int(after_s * 1000)

    async def refresh(self, verification: Verification, now_ms: int) -> bool:
        """Ask the vendor about ``verification`` if its receipt is late; True when its state moved."""
        provider = verification.delivery_provider or verification.provider
        lookup = self.providers.senders.get(provider)
        if (
            self.after_ms <= 0
            or not isinstance(lookup, DeliveryLookup)
            or not verification.message_id
            or verification.effective_status(now_ms) is not Status.PENDING
            or DELIVERY_RANK[verification.delivery_status] >= _FINAL_RANK
            or now_ms - (verification.delivery_ms or verification.created_ms) < self.after_ms
        ):
            return False
        if not await self.store.claim_refresh(verification.id, self.after_ms):
            return False  # another read (or replica) asked within the period
        try:
            update = await lookup.delivery_status(
                verification.message_id,
                to=parse_phone(verification.to).msisdn,
                sent_at_s=verification.created_ms / 1000,
            )
        except ProviderError as exc:
            log.warning("delivery.refresh_failed", provider=provider, reason=exc.detail)
            return False
        if update is None:
            return False
        update = msgspec.structs.replace(update, message_id=verification.message_id)
        return await self.receipts.apply(provider, [update]) > 0
