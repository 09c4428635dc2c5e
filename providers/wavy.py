"""Wavy (Sinch LatAm, formerly Movile) HTTPS API: an :class:`~providers.base.SmsSender`.

Design decisions (vendor docs: https://docs.sinch.com/technical-documentation/api-and-integrations/sms-api and
https://docs-latam.wavy.global; markers as in :mod:`providers`):

* Authentication is two static headers, ``UserName`` and ``AuthenticationToken`` [doc]. There is no
  login step, so nothing to refresh: a 401/403 is a :class:`ProviderAuthError` at once.
* ``POST /v1/send-sms`` with ``destination`` in international digits without ``+``, ``messageText``
  (at most 1280 characters [doc], checked before the request so an over-long text costs no round trip)
  and ``correlationId`` = our verification id, which Wavy echoes in its callbacks. The id is at most 64
  characters [doc]; a longer one is left out rather than truncated (a truncated id would match nothing)
  and the callbacks are then matched on Wavy's ``id`` alone.
* ``expiresInMinutes`` [doc] carries the code's remaining lifetime, rounded up to whole minutes and
  kept within 1..1440 (the documented default validity is 24 h; no maximum is stated [guess]), so
  Wavy drops a message that could only deliver a dead code.
* Success is HTTP 200 ``{"id": "<uuid>", "correlationId": "..."}`` [doc]; the doc renders it inside
  ``[...]`` while client code reads an object, so both an object and a one-element list are accepted.
* The error body is undocumented ([guess] ``{"errorCode", "errorMessage"}``), so the HTTP status alone
  decides the error type; a JSON ``errorCode``/``errorMessage`` only enriches the detail. Vendor
  messages may echo the request, so our text, number and token are scrubbed from them and every run of
  4+ digits is masked.
* Lost receipts: :meth:`WavySender.delivery_status` asks the status query API [doc] (see there).
* Receipts: the "callback" (sent status) and the "DLR" (delivered status) are both JSON objects POSTed to
  the configured URLs [doc]; one object or a list of them is accepted. A delivered code 4/104 decides
  when present; otherwise the sent code does. Wavy's webhook response format is undocumented [guess], so
  the service's default answer is used.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import httpx
import msgspec

from . import _http
from ._validity import validity_in
from .base import (
    DEFAULT_SEND_OPTIONS,
    DeliveryStatus,
    DeliveryUpdate,
    Msisdn,
    ProviderProtocolError,
    ProviderRejected,
    ReceiptBatch,
    SendOptions,
    SendReceipt,
    VendorSettings,
)
from .registry import ProviderSpec

__all__ = ("SPEC", "WavySender", "WavySettings", "parse_receipts")

MAX_TEXT_LENGTH = 1280  # messageText limit [doc]
MAX_CORRELATION_ID_LENGTH = 64  # correlationId limit [doc]
MAX_EXPIRES_IN_MINUTES = 24 * 60  # the documented default validity (24 h); no maximum is stated [guess]


class WavySettings(VendorSettings, frozen=True, kw_only=True):
    """``WAVY_*`` variables: a "User"-type account's name (or e-mail) and its authentication token."""

    secret_fields: ClassVar[frozenset[str]] = frozenset({"token"})

    base_url: str = "https://api-messaging.wavy.global"
    username: str = ""
    token: str = ""

    def __post_init__(self) -> None:
        if bool(self.username) != bool(self.token):
            raise ValueError("WAVY_USERNAME and WAVY_TOKEN must be set together")
        if not self.base_url.startswith(("https://", "http://")):
            raise ValueError("WAVY_BASE_URL must be an http(s) URL")


# --- vendor shapes (only the fields we read) ------------------------------------------------------


class _Accepted(msgspec.Struct):
    id: str


class _ErrorBody(msgspec.Struct, rename="camel"):
    error_code: int | str | None = None
    error_message: str | None = None


class _Status(msgspec.Struct, rename="camel"):
    """One callback or DLR; both carry ``id`` and the sent status, a DLR adds the delivered status."""

    id: str
    correlation_id: str | None = None
    sent_status_code: int | None = None
    sent_status: str | None = None
    delivered_status_code: int | None = None
    delivered_status: str | None = None


_ACCEPTED = msgspec.json.Decoder(_Accepted | list[_Accepted])
_ERROR = msgspec.json.Decoder(_ErrorBody)
_ANY: msgspec.json.Decoder[Any] = msgspec.json.Decoder()
# strict=False: a code sent as "2" instead of 2 is still read.
_STATUSES = msgspec.json.Decoder(_Status | list[_Status], strict=False)


class WavySender:
    """Sends through ``POST /v1/send-sms`` with the account's static header credentials."""

    name = "wavy"
    max_length = MAX_TEXT_LENGTH

    def __init__(self, settings: WavySettings, client: httpx.AsyncClient) -> None:
        self._settings = settings
        self._client = client
        self._url = f"{settings.base_url.rstrip('/')}/v1/send-sms"
        self._status_url = f"{settings.base_url.rstrip('/')}/v1/sms/status/search"
        self._headers = {"UserName": settings.username, "AuthenticationToken": settings.token}

    async def send(
        self, to: Msisdn, text: str, *, reference: str, options: SendOptions = DEFAULT_SEND_OPTIONS
    ) -> SendReceipt:
        if len(text) > MAX_TEXT_LENGTH:
            raise ProviderRejected(self.name, f"text too long ({len(text)} > {MAX_TEXT_LENGTH} characters)")
        body: dict[str, str | int] = {"destination": to.digits, "messageText": text}
        expires = validity_in(options, unit_s=60, lowest=1, highest=MAX_EXPIRES_IN_MINUTES)
        if expires is not None:
            body["expiresInMinutes"] = expires
        if reference and len(reference) <= MAX_CORRELATION_ID_LENGTH:
            body["correlationId"] = reference
        response = await _http.call(
            self._client,
            self.name,
            self._settings,
            "POST",
            self._url,
            delivers=True,
            json=body,
            headers=self._headers,
        )
        status = response.status_code
        if status >= 300:
            secrets = (self._settings.username, self._settings.token)
            vendor_code, message = self._error(response)
            if vendor_code is not None:
                vendor_code = _http.scrub(vendor_code, secrets=secrets, to=to, message=text)
            if _http.unavailable(status) or status in (401, 403):
                _http.raise_for_status(self.name, response, vendor_code=vendor_code)
            reason = _http.scrub(message, secrets=secrets, to=to, message=text) if message else "no reason given"
            raise ProviderRejected(
                self.name,
                f"send refused (HTTP {status}) for {to.masked()}: {reason}",
                status_code=status,
                vendor_code=vendor_code,
            )
        accepted = _http.decode(_ACCEPTED, response, self.name)
        if isinstance(accepted, list):
            if not accepted:
                raise ProviderProtocolError(self.name, "empty list in the send reply", status_code=status)
            accepted = accepted[0]
        return SendReceipt(provider=self.name, message_id=accepted.id or None)

    async def delivery_status(self, message_id: str, *, to: Msisdn, sent_at_s: float) -> DeliveryUpdate | None:
        """``POST /v1/sms/status/search`` with ``{"ids": [id]}`` [doc: statuses kept 3 days, 1 request/s].

        The list's wrapper is not documented, so the first object carrying our ``id`` anywhere in the
        reply is read as a status item (the callback/DLR fields [doc]); none is None.
        """
        response = await _http.call(
            self._client,
            self.name,
            self._settings,
            "POST",
            self._status_url,
            delivers=False,
            json={"ids": [message_id]},
            headers=self._headers,
        )
        secrets = (self._settings.username, self._settings.token)
        _http.raise_for_status(self.name, response, secrets=secrets, to=to)
        found = _item_with_id(_http.decode(_ANY, response, self.name), message_id)
        if found is None:
            return None
        try:
            return _update(msgspec.convert(found, _Status, strict=False))
        except msgspec.ValidationError as exc:
            raise ProviderProtocolError(self.name, f"unexpected status item: {exc}", status_code=200) from exc

    @staticmethod
    def _error(response: httpx.Response) -> tuple[str | None, str | None]:
        """``(errorCode, errorMessage)`` if the body has that [guess] shape, else ``(None, None)``."""
        error = _http.decode_or_none(_ERROR, response)
        if error is None:
            return None, None
        code = None if error.error_code is None else str(error.error_code)[:32]
        return code, error.error_message


# --- delivery receipts ------------------------------------------------------------------------------

_DELIVERED_CODES: dict[int, DeliveryStatus] = {
    4: DeliveryStatus.DELIVERED,  # DELIVERED_SUCCESS
    104: DeliveryStatus.UNDELIVERED,  # NOT_DELIVERED
}
_SENT_CODES: dict[int, DeliveryStatus] = {
    2: DeliveryStatus.SENT,  # SENT_SUCCESS: handed to the carrier
    101: DeliveryStatus.UNDELIVERED,  # EXPIRED
    102: DeliveryStatus.FAILED,  # CARRIER_COMMUNICATION_ERROR
    103: DeliveryStatus.FAILED,  # REJECTED_BY_CARRIER
    201: DeliveryStatus.FAILED,  # NO_CREDIT
    202: DeliveryStatus.FAILED,  # INVALID_DESTINATION_NUMBER
    203: DeliveryStatus.FAILED,  # BLACKLISTED
    204: DeliveryStatus.FAILED,  # DESTINATION_BLOCKED_BY_OPTOUT
    205: DeliveryStatus.FAILED,  # DESTINATION_MESSAGE_LIMIT_REACHED
    207: DeliveryStatus.FAILED,  # INVALID_MESSAGE_TEXT
    301: DeliveryStatus.FAILED,  # INTERNAL_ERROR
}
# When a code is missing but its name is present (names as documented).
_DELIVERED_NAMES = {"DELIVERED_SUCCESS": 4, "NOT_DELIVERED": 104}
_SENT_NAMES = {
    "SENT_SUCCESS": 2,
    "EXPIRED": 101,
    "CARRIER_COMMUNICATION_ERROR": 102,
    "REJECTED_BY_CARRIER": 103,
    "NO_CREDIT": 201,
    "INVALID_DESTINATION_NUMBER": 202,
    "BLACKLISTED": 203,
    "DESTINATION_BLOCKED_BY_OPTOUT": 204,
    "DESTINATION_MESSAGE_LIMIT_REACHED": 205,
    "INVALID_MESSAGE_TEXT": 207,
    "INTERNAL_ERROR": 301,
}


def _code(code: int | None, name: str | None, names: Mapping[str, int]) -> int | None:
    if code is not None:
        return code
    return names.get((name or "").strip().upper())


def _update(item: _Status) -> DeliveryUpdate:
    delivered = _code(item.delivered_status_code, item.delivered_status, _DELIVERED_NAMES)
    sent = _code(item.sent_status_code, item.sent_status, _SENT_NAMES)
    vendor_status: str | None
    if delivered in _DELIVERED_CODES:
        status = _DELIVERED_CODES[delivered]
        vendor_status = item.delivered_status or str(delivered)
    elif sent in _SENT_CODES:
        status = _SENT_CODES[sent]
        vendor_status = item.sent_status or str(sent)
    else:
        status = DeliveryStatus.UNKNOWN
        raw = item.delivered_status or item.sent_status
        codes = delivered if delivered is not None else sent
        vendor_status = raw or (None if codes is None else str(codes))
    return DeliveryUpdate(
        status=status,
        message_id=item.id or None,
        reference=item.correlation_id or None,
        vendor_status=vendor_status[:64] if vendor_status else None,
    )


def _item_with_id(value: Any, message_id: str, depth: int = 0) -> dict[str, Any] | None:
    if depth > 4:
        return None
    if isinstance(value, dict):
        if value.get("id") == message_id:
            return value
        value = list(value.values())
    if isinstance(value, list):
        for item in value:
            if (found := _item_with_id(item, message_id, depth + 1)) is not None:
                return found
    return None


def parse_receipts(body: bytes, headers: Mapping[str, str]) -> ReceiptBatch:
    """A Wavy sent-status callback or DLR (one JSON object, or a list of them)."""
    decoded = _http.decode_receipt(_STATUSES, body, "wavy: not a status callback")
    items = decoded if isinstance(decoded, list) else [decoded]
    return ReceiptBatch(updates=[_update(item) for item in items])


def _is_configured(settings: WavySettings) -> bool:
    return bool(settings.username and settings.token)


SPEC = ProviderSpec(
    name="wavy",
    env_prefix="WAVY",
    settings_type=WavySettings,
    build=WavySender,
    is_configured=_is_configured,
    receipts=parse_receipts,
)
