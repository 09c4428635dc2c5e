"""Instasent: plain SMS carrying our code, through the transactional API.

Design decisions (vendor docs: https://docs.instasent.com, Transactional API; markers as in :mod:`providers`):

* The default base URL is the transactional API (``/transactional/v1``) because only it pushes
  delivery receipts [doc]. The legacy ``https://api.instasent.com`` serves the same ``POST /sms``
  with the same bearer token [doc], so ``INSTASENT_BASE_URL`` may point there; receipts then never
  arrive (legacy exposes status by polling only) and nothing else changes.
* Tokens never expire and are rotated by hand [doc]: there is no login and nothing to refresh, so a
  401 is :class:`ProviderAuthError` at once.
* ``to`` is E.164 with ``+`` [doc][code]. ``allowUnicode`` is sent only when the text is not GSM-7,
  since Instasent refuses non-GSM characters without it [code]; we do not send it for plain text so
  the vendor has no reason to bill 70-character UCS-2 parts for it [guess].
* ``clientId`` must be unique per SMS [doc], while our reference (the verification id) is reused by
  every resend of a verification. Sending the bare reference could get a resend refused or
  silently deduplicated. So the adapter sends ``<reference>-<4 hex>`` and the receipt parser strips
  that suffix: receipts still carry our verification id. A reference too long for the 40-character
  limit is not sent at all (receipts then match on the message id), rather than truncated into a
  value that would match nothing.
* Two 201 shapes are documented: ``POST /sms`` answers one ``ResponseSmsItem`` under ``entity``
  (``{"entity": {"id": ...}}``, the OpenAPI's ``sms-create``) and ``POST /sms/bulk`` answers
  ``{"entities": [...], "errors": [...]}``, accepted and rejected items side by side [doc:
  https://docs.instasent.com/openapi/transactional.openapi.yaml and the HTTP quickstart]. We send
  single SMS, but read both, since a 201 is not proof of acceptance in the bulk shape: an ``errors``
  item with no ``entities`` is a refusal (:class:`ProviderRejected`), not a delivered message. A
  top-level ``{"id": ...}`` is accepted too [guess]. A 2xx JSON object without an id gives
  ``message_id=None`` instead of an error: the vendor accepted the message, and failing over would
  deliver a second code. A 2xx that is not JSON is :class:`ProviderProtocolError`.
* Status codes [doc]: 400/404/413 are :class:`ProviderRejected` (our request is wrong, retrying it
  elsewhere is pointless but harmless); 402 (no balance) is rejected with ``vendor_code="402"`` so
  the chain moves to the next provider; 429 (empty body, ``X-RateLimit-Reset``) and 5xx are
  :class:`ProviderUnavailable`. Vendor messages are scrubbed of the number and text before they
  become error details, because per-field errors may echo the value [guess].
* ``max_length = 1000``: Instasent concatenates long texts (160 GSM-7 / 70 UCS-2 per part [doc]) and
  states no maximum. 1000 characters is 7 GSM-7 parts, several times any OTP template, and stays
  below the ~10-part ceiling where concatenated SMS become unreliable on handsets.
* Lost receipts: ``GET /sms/{id}`` gives a message's state [doc] (:meth:`InstasentSms.delivery_status`).
* Receipts [doc]: one JSON object per transition. ``sent``/``accepted``/``buffered`` are all after
  the hand-off to the carrier (``buffered`` means the network holds it for an unreachable handset),
  so they map to SENT, not QUEUED. ``stop`` and other inbound events (which carry ``message``) are
  not delivery news and yield an empty batch. Instasent wants only a quick 2xx back.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import httpx
import msgspec

from . import _http
from .base import (
    DEFAULT_SEND_OPTIONS,
    DeliveryStatus,
    DeliveryUpdate,
    Msisdn,
    ProviderRejected,
    ProviderUnavailable,
    ReceiptBatch,
    ReceiptError,
    SendOptions,
    SendReceipt,
    VendorSettings,
)
from .registry import ProviderSpec
from .text import Encoding, encoding_of

__all__ = ("SPEC", "InstasentSettings", "InstasentSms", "client_id_for", "parse_receipts")

_CLIENT_ID_MAX = 40
_CLIENT_ID_SUFFIX = re.compile(r"-[0-9a-f]{4}$")
_SUFFIX_LEN = 5  # "-" and 4 hex digits: a 35-character verification id still fits in 40
# A number (optionally with +) or an alphanumeric sender id; the length is checked separately.
_SENDER = re.compile(r"\+?[0-9]+|[A-Za-z0-9][A-Za-z0-9 .&_-]*")


class InstasentSettings(VendorSettings, frozen=True, kw_only=True):
    secret_fields = frozenset({"token"})

    base_url: str = "https://api.instasent.com/transactional/v1"
    token: str = ""
    sender: str = ""  # the SMS `from`: up to 11 characters [code, vendor SDK]

    def __post_init__(self) -> None:
        if self.sender and (len(self.sender) > 11 or not _SENDER.fullmatch(self.sender)):
            raise ValueError("`sender` must be 1-11 letters/digits (an alphanumeric sender id) or a number")
        if self.token and not self.sender:
            raise ValueError("`sender` is required when `token` is set")


class _Entity(msgspec.Struct):
    id: str | int | None = None


class _SendResponse(msgspec.Struct):
    entity: _Entity | None = None
    id: str | int | None = None
    entities: list[_Entity] | None = None  # the bulk shape
    errors: Any = None


class _ErrorBody(msgspec.Struct):
    message: Any = None


class _LookedUp(msgspec.Struct):
    status: str | None = None


class _Lookup(msgspec.Struct):
    entity: _LookedUp | None = None


_SEND = msgspec.json.Decoder(_SendResponse)
_LOOKUP = msgspec.json.Decoder(_Lookup)
_ERROR = msgspec.json.Decoder(_ErrorBody)


def client_id_for(reference: str) -> str | None:
    """The ``clientId`` sent for ``reference``: unique per SMS, or None when it would not fit."""
    if len(reference) + _SUFFIX_LEN > _CLIENT_ID_MAX:
        return None
    return f"{reference}-{secrets.token_hex(2)}"


class InstasentSms:
    name = "instasent"
    max_length = 1000

    def __init__(self, settings: InstasentSettings, client: httpx.AsyncClient) -> None:
        self._settings = settings
        self._client = client
        self._url = f"{settings.base_url.rstrip('/')}/sms"

    async def send(
        self, to: Msisdn, text: str, *, reference: str, options: SendOptions = DEFAULT_SEND_OPTIONS
    ) -> SendReceipt:
        payload: dict[str, Any] = {"from": options.sender_id or self._settings.sender, "to": to.e164, "text": text}
        client_id = client_id_for(reference)
        if client_id is not None:
            payload["clientId"] = client_id
        if encoding_of(text) is Encoding.UCS2:
            payload["allowUnicode"] = True
        response = await _http.call(
            self._client,
            self.name,
            self._settings,
            "POST",
            self._url,
            delivers=True,
            json=payload,
            headers={"Authorization": f"Bearer {self._settings.token}", "Accept": "application/json"},
        )
        if response.status_code >= 300:
            self._raise_for_error(response, to, text)
        body = _http.decode(_SEND, response, self.name)
        message_id = body.entity.id if body.entity is not None and body.entity.id is not None else body.id
        if message_id is None and body.entities:
            message_id = body.entities[0].id
        elif message_id is None and body.entity is None and body.errors:  # the bulk shape, our SMS refused
            reason = _http.scrub(
                msgspec.json.encode(body.errors).decode(), secrets=(self._settings.token,), to=to, message=text
            )
            raise ProviderRejected(
                self.name, f"refused in a {response.status_code}: {reason}", status_code=response.status_code
            )
        return SendReceipt(provider=self.name, message_id=None if message_id is None else str(message_id))

    async def delivery_status(self, message_id: str, *, to: Msisdn, sent_at_s: float) -> DeliveryUpdate | None:
        """``GET /sms/{id}`` [doc], read as ``{"entity": {"status": ...}}`` like the create reply; 404 is None."""
        response = await _http.call(
            self._client,
            self.name,
            self._settings,
            "GET",
            f"{self._url}/{quote(message_id, safe='')}",
            delivers=False,
            headers={"Authorization": f"Bearer {self._settings.token}", "Accept": "application/json"},
        )
        if response.status_code == 404:
            return None
        _http.raise_for_status(self.name, response, to=to, secrets=(self._settings.token,))
        body = _http.decode(_LOOKUP, response, self.name)
        status = body.entity.status.strip().lower() if body.entity is not None and body.entity.status else ""
        if not status:
            return None
        return DeliveryUpdate(
            status=_STATUSES.get(status, DeliveryStatus.UNKNOWN), message_id=message_id, vendor_status=status[:32]
        )

    def _raise_for_error(self, response: httpx.Response, to: Msisdn, text: str) -> None:
        status = response.status_code
        if status == 429:
            raise ProviderUnavailable(self.name, f"rate limited (HTTP 429){_reset_hint(response)}", status_code=429)
        if status in (401, 403) or _http.unavailable(status):
            _http.raise_for_status(self.name, response)
        error = _http.decode_or_none(_ERROR, response)
        message = error.message if error is not None and isinstance(error.message, str) else response.text
        reason = _http.scrub(message, secrets=(self._settings.token,), to=to, message=text)
        if status == 402:
            raise ProviderRejected(self.name, f"no balance (HTTP 402): {reason}", status_code=status, vendor_code="402")
        raise ProviderRejected(self.name, f"HTTP {status}: {reason}", status_code=status)


def _reset_hint(response: httpx.Response) -> str:
    reset = response.headers.get("X-RateLimit-Reset", "")
    if not reset.isdigit():
        return ""
    return f", resets in {max(0, int(reset) - int(time.time()))}s"


# --- delivery receipts -------------------------------------------------------------------------

_STATUSES: dict[str, DeliveryStatus] = {
    "sent": DeliveryStatus.SENT,
    "accepted": DeliveryStatus.SENT,
    "buffered": DeliveryStatus.SENT,
    "delivered": DeliveryStatus.DELIVERED,
    "error": DeliveryStatus.FAILED,
    "failed": DeliveryStatus.FAILED,
    "rejected": DeliveryStatus.FAILED,
    "canceled": DeliveryStatus.FAILED,
    "expired": DeliveryStatus.UNDELIVERED,
    "unknown": DeliveryStatus.UNKNOWN,
}


class _Receipt(msgspec.Struct):
    status: str
    id: str | int | None = None
    client_id: str | None = msgspec.field(default=None, name="clientId")
    code: int | str | None = None
    message: Any = msgspec.UNSET  # present on inbound (two-way) events only


_RECEIPT = msgspec.json.Decoder(_Receipt)


def parse_receipts(body: bytes, headers: Mapping[str, str]) -> ReceiptBatch:
    """One Instasent webhook call: ``{"id", "clientId", "status", "code", "eventAt"}``."""
    event = _http.decode_receipt(_RECEIPT, body, "instasent: not a receipt object")
    status = event.status.strip().lower()
    if status == "stop" or (event.message is not msgspec.UNSET and status not in _STATUSES):
        return ReceiptBatch(updates=[])  # an inbound message or opt-out, not delivery news
    if event.id is None or event.id == "":
        raise ReceiptError("instasent: receipt without `id`")
    reference = event.client_id or None
    if reference is not None and _CLIENT_ID_SUFFIX.search(reference):
        reference = reference[:-_SUFFIX_LEN]
    vendor_status = status if event.code in (None, 0, "0", "") else f"{status}/{event.code}"
    update = DeliveryUpdate(
        status=_STATUSES.get(status, DeliveryStatus.UNKNOWN),
        message_id=str(event.id),
        reference=reference,
        vendor_status=vendor_status,
    )
    return ReceiptBatch(updates=[update])


SPEC = ProviderSpec(
    name="instasent",
    env_prefix="INSTASENT",
    settings_type=InstasentSettings,
    build=InstasentSms,
    is_configured=lambda settings: bool(settings.token),
    receipts=parse_receipts,
)
