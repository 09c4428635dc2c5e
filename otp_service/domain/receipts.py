"""Delivery receipts: which verification a vendor's callback is about, and its new delivery state.

A receipt names the vendor's message id (what the send returned; Message Central may name its
``verificationId`` instead, which is indexed too) or echoes our verification id as its reference
(Wavy ``correlationId``, Instasent ``clientId``); a receipt naming none of those but the number (Message
Central's ``mobile``, when its send answered ``"transactionId": null``) matches that provider's newest
send to the number. A receipt that matches nothing live is counted and
dropped: vendors retry callbacks, and an unknown id must not make them retry forever.

States only move forward by :data:`DELIVERY_RANK` (a late "sent" after "delivered" is stale), and a
receipt for the message of an earlier send does not overwrite the current message's state; the
store's receipt script applies both rules atomically.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from providers import DeliveryStatus, DeliveryUpdate

from ..metrics import RECEIPTS
from .events import EventSink
from .verification_store import VerificationStore

__all__ = ("DELIVERY_RANK", "ReceiptBook")

DELIVERY_RANK: Mapping[DeliveryStatus, int] = {
    DeliveryStatus.QUEUED: 0,
    DeliveryStatus.SENT: 1,
    DeliveryStatus.UNKNOWN: 1,
    DeliveryStatus.DELIVERED: 2,
    DeliveryStatus.UNDELIVERED: 2,
    DeliveryStatus.FAILED: 2,
}


class ReceiptBook:
    def __init__(self, store: VerificationStore, events: EventSink | None = None) -> None:
        self.store = store
        self.events = events or EventSink()

    async def apply(
        self,
        provider: str,
        updates: Sequence[DeliveryUpdate],
        applied_to: list[tuple[str, str, DeliveryStatus]] | None = None,
    ) -> int:
        """Apply what can be matched to a verification; returns how many were applied.

        ``applied_to`` collects (verification id, number, status) of each applied receipt."""
        applied = 0
        for update in updates:
            vid, e164, by_number = await self._match(provider, update)
            if vid is None or e164 is None:
                RECEIPTS.labels(provider, "unmatched").inc()
                continue
            done = await self.store.apply_receipt(
                e164,
                vid,
                status=update.status,
                provider=provider,
                rank=DELIVERY_RANK[update.status],
                message_id="" if by_number else update.message_id or "",
            )
            RECEIPTS.labels(provider, update.status if done else "stale").inc()
            applied += int(done)
            if done:
                await self._publish(e164, vid)
            if done and applied_to is not None:
                applied_to.append((vid, e164, update.status))
        return applied

    async def _publish(self, e164: str, vid: str) -> None:
        """The receipt's new state as an event (read back: the receipt does not name the app)."""
        verification = await self.store.read(e164, vid)
        if verification is not None:
            await self.events.delivery_updated(verification)

    async def _match(self, provider: str, update: DeliveryUpdate) -> tuple[str | None, str | None, bool]:
        """Our verification id and its number (None where the receipt names nothing we know), and
        whether only the number matched it."""
        vid = None
        if update.message_id:
            vid = await self.store.id_for_message(provider, update.message_id)
        if vid is None and update.reference and update.reference.startswith("vf_"):
            vid = update.reference
        by_number = False
        if vid is None and update.to:
            vid = await self.store.id_for_message(provider, f"to:{update.to}")
            by_number = vid is not None
        return vid, await self.store.phone_for_id(vid) if vid else None, by_number
