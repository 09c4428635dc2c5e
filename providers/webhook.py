"""``webhook``: the operator's own delivery service, reached by a signed JSON POST (an SmsSender).

For operators who deliver through a channel of their own (an in-house SMS gateway, a push service):
the service POSTs each message to ``WEBHOOK_PROVIDER_URL`` and the operator's endpoint delivers it.

The request (contract defined here, documented in docs/providers.md):

* ``POST <WEBHOOK_PROVIDER_URL>``, ``Content-Type: application/json``, body
  ``{"type": "otp.message", "to": "+34600100200", "text": "...", "reference": "vf_...",
  "locale": "es" | null, "channel": "sms", "validity_s": 600 | null}``. ``text`` holds the code (it is
  the message); ``reference`` is the verification id and holds none, so receipts can name it.
* Signed per Standard Webhooks (https://www.standardwebhooks.com, the ``standardwebhooks`` package):
  ``webhook-id`` (unique per request), ``webhook-timestamp`` (Unix seconds) and ``webhook-signature``
  (``v1,<base64 HMAC-SHA256 of "id.timestamp.body">`` under ``WEBHOOK_PROVIDER_SECRET``, a ``whsec_``
  key). The receiver verifies it with any Standard Webhooks library and rejects replays by timestamp.
* The answer: a 2xx with a JSON object accepts the message; a string ``message_id`` in it names the
  message for receipts (``{}`` is acceptance without an id). A 2xx that is not a JSON object is a bad
  reply (:class:`ProviderProtocolError`), which the dispatcher treats as "may have delivered", as for
  every vendor: the endpoint may have taken the message, and failing over could deliver a second code.
  401/403 is :class:`ProviderAuthError`, 429 and 5xx
  :class:`ProviderUnavailable` (the next provider is tried), other 4xx :class:`ProviderRejected`, and
  no answer after the request left :class:`ProviderDeliveryUnknown`, all through :mod:`providers._http`
  with the same connect/total timeouts as the vendors.

Receipts: the operator POSTs to ``/v1/webhooks/webhook/<OTP_WEBHOOK_SECRET>`` one object or a list of
``{"message_id": "...", "reference": "vf_...", "status": "delivered"}`` (either id may be left out;
``status`` is one of queued, sent, delivered, undelivered, failed, unknown: the service's own words, so
nothing is translated; an unknown word is kept as ``unknown``).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

import httpx
import msgspec
from standardwebhooks.webhooks import Webhook

from . import _http
from .base import (
    DEFAULT_SEND_OPTIONS,
    DeliveryStatus,
    DeliveryUpdate,
    Msisdn,
    ReceiptBatch,
    ReceiptError,
    SendOptions,
    SendReceipt,
    VendorSettings,
)
from .registry import ProviderSpec

__all__ = ("SPEC", "WebhookSender", "WebhookSettings", "parse_receipts")

MESSAGE_TYPE = "otp.message"


class WebhookSettings(VendorSettings, frozen=True, kw_only=True):
    """``WEBHOOK_PROVIDER_URL`` and ``_SECRET`` (``whsec_`` + base64, as Standard Webhooks keys are written)."""

    secret_fields: ClassVar[frozenset[str]] = frozenset({"secret"})

    url: str = ""
    secret: str = ""

    def __post_init__(self) -> None:
        if bool(self.url) != bool(self.secret):
            raise ValueError("WEBHOOK_PROVIDER_URL and WEBHOOK_PROVIDER_SECRET must be set together")
        if self.url and not self.url.startswith(("https://", "http://")):
            raise ValueError("WEBHOOK_PROVIDER_URL must be an http(s) URL")
        if self.secret:
            try:
                Webhook(self.secret)
            except Exception:  # the library raises binascii.Error or its own empty-secret error
                raise ValueError(
                    "WEBHOOK_PROVIDER_SECRET must be a Standard Webhooks key: whsec_ followed by base64"
                ) from None


class _Message(msgspec.Struct, frozen=True, kw_only=True):
    type: str
    to: str
    text: str
    reference: str
    locale: str | None
    channel: str
    validity_s: int | None


# The whole object is decoded (not only `message_id`), so a reply that is not valid UTF-8 anywhere is a bad reply.
_ACCEPTED = msgspec.json.Decoder(dict[str, Any])


class WebhookSender:
    """POSTs each message, signed, to the operator's URL."""

    name = "webhook"
    max_length = 1600  # the endpoint decides how to deliver; ten concatenated parts is the usual ceiling

    def __init__(
        self, settings: WebhookSettings, client: httpx.AsyncClient, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._settings = settings
        self._client = client
        self._signer = Webhook(settings.secret)
        self._clock = clock

    async def send(
        self, to: Msisdn, text: str, *, reference: str, options: SendOptions = DEFAULT_SEND_OPTIONS
    ) -> SendReceipt:
        message = _Message(
            type=MESSAGE_TYPE,
            to=to.e164,
            text=text,
            reference=reference,
            locale=options.locale,
            channel=str(options.channel),
            validity_s=options.validity_s,
        )
        body = msgspec.json.encode(message)
        msg_id = f"msg_{secrets.token_hex(16)}"
        when = datetime.fromtimestamp(int(self._clock()), tz=UTC)
        headers = {
            "Content-Type": "application/json",
            "webhook-id": msg_id,
            "webhook-timestamp": str(int(when.timestamp())),
            "webhook-signature": self._signer.sign(msg_id, when, body.decode()),
        }
        response = await _http.call(
            self._client,
            self.name,
            self._settings,
            "POST",
            self._settings.url,
            delivers=True,
            content=body,
            headers=headers,
        )
        _http.raise_for_status(self.name, response, to=to, text=text, secrets=self._settings.secrets())
        message_id = _http.decode(_ACCEPTED, response, self.name).get("message_id")
        if not isinstance(message_id, str) or not message_id:
            message_id = None
        return SendReceipt(provider=self.name, message_id=message_id[:128] if message_id else None)


# --- receipts -----------------------------------------------------------------------------------------


class _Receipt(msgspec.Struct):
    status: str
    message_id: str | None = None
    reference: str | None = None


_RECEIPTS = msgspec.json.Decoder(_Receipt | list[_Receipt])
_STATUSES = {status.value: status for status in DeliveryStatus}


def parse_receipts(body: bytes, headers: Mapping[str, str]) -> ReceiptBatch:
    """``{"message_id", "reference", "status"}`` or a list of them, in the service's own status words."""
    decoded = _http.decode_receipt(_RECEIPTS, body, "webhook: not a receipt object or list")
    items = decoded if isinstance(decoded, list) else [decoded]
    updates: list[DeliveryUpdate] = []
    for item in items:
        if not (item.message_id or item.reference):
            raise ReceiptError("webhook: a receipt needs `message_id` or `reference`")
        status = item.status.strip().lower()
        updates.append(
            DeliveryUpdate(
                status=_STATUSES.get(status, DeliveryStatus.UNKNOWN),
                message_id=item.message_id or None,
                reference=item.reference or None,
                vendor_status=status[:32] or None,
            )
        )
    return ReceiptBatch(updates=updates)


SPEC = ProviderSpec(
    name="webhook",
    env_prefix="WEBHOOK_PROVIDER",
    settings_type=WebhookSettings,
    build=WebhookSender,
    is_configured=lambda settings: bool(settings.url and settings.secret),
    receipts=parse_receipts,
)
