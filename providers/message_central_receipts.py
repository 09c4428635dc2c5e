"""Message Central delivery reports: the JSON the vendor POSTs to the callback URL it was e-mailed.

Source: the vendor's Message Now API documentation (Version 1.0, section "SMS Callback Integration
with Message Central"; the v3 VerifyNow page is https://messagecentral.com/en-in/product/verify-now/api-india): the
callback URL is registered by e-mail to operations@messagecentral.com (customer id, brand name,
registered e-mail, callback URL), not in a dashboard. The body is one JSON object::

    {"apiKey": null, "clientId": null, "messageId": "a2e87214-...", "status": "DELIVRD", "errorCode": 0,
     "countryCode": null, "mobile": "919999999999", "submitDate": "...", "doneDate": "..."}

The status list of the same page names DELIVERED, EXPIRED, UNDELIV, UNKNOWN and REJECTED, while its
sample body says ``DELIVRD`` (the SMPP spelling): both spellings are read [doc: inconsistent]. Whether
WhatsApp sends report through the same callback is not documented [doc: absent]; they are read the same
way. An array of such objects is accepted too [guess: tolerant]. Unknown states become UNKNOWN.

``messageId`` is matched against the send's ``transactionId``. The v1 VerifyNow example answers
``"transactionId": null`` (https://www.messagecentral.com/product/verify-now/api), so such a receipt's
id was never indexed: ``mobile`` (country code and national number, digits) is passed on as
``DeliveryUpdate.to`` and the service then matches the newest Message Central send to that number
(``otp_service/domain/receipts.py``).
"""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from . import _http
from .base import DeliveryStatus, DeliveryUpdate, ReceiptBatch

__all__ = ("STATES", "parse_receipts")

NAME = "message_central"


class _Receipt(msgspec.Struct, rename="camel"):
    status: str
    message_id: str | int | None = None
    client_id: str | int | None = None
    mobile: str | int | None = None


_RECEIPTS = msgspec.json.Decoder(_Receipt | list[_Receipt])
STATES = {
    "DELIVRD": DeliveryStatus.DELIVERED,  # the sample body's spelling [doc]
    "DELIVERED": DeliveryStatus.DELIVERED,  # the status list's spelling [doc]
    "UNDELIV": DeliveryStatus.UNDELIVERED,
    "EXPIRED": DeliveryStatus.UNDELIVERED,
    "REJECTD": DeliveryStatus.FAILED,  # SMPP spelling [guess]
    "REJECTED": DeliveryStatus.FAILED,  # the status list's spelling [doc]
    "UNKNOWN": DeliveryStatus.UNKNOWN,
}


def _text(value: str | int | None) -> str | None:
    return None if value is None or value == "" else str(value)


def _digits(value: str | int | None) -> str | None:
    text = _text(value)
    return text if text and text.isdigit() and 6 <= len(text) <= 15 else None


def parse_receipts(body: bytes, headers: Mapping[str, str]) -> ReceiptBatch:
    """One DLR object, or an array of them, into updates; unknown states become UNKNOWN."""
    decoded = _http.decode_receipt(_RECEIPTS, body, f"{NAME}: not a delivery report")
    receipts = decoded if isinstance(decoded, list) else [decoded]
    updates = [
        DeliveryUpdate(
            status=STATES.get(r.status.strip().upper(), DeliveryStatus.UNKNOWN),
            message_id=_text(r.message_id),
            reference=_text(r.client_id),
            vendor_status=r.status[:32],
            to=_digits(r.mobile),
        )
        for r in receipts
    ]
    return ReceiptBatch(updates=updates)
