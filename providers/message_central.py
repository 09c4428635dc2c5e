"""Message Central: VerifyNow (the vendor makes, sends and checks the code) or Message Now (our text).

Why it looks the way it does (vendor docs, v3: https://www.messagecentral.com/product/verify-now/api-india;
markers as in :mod:`providers`):

* One settings struct, two classes. ``mode=verify_now`` builds :class:`MessageCentralVerify` (a
  VerificationProvider); ``mode=sms`` builds :class:`MessageCentralSms` (an SmsSender) that sends our
  own text through the same ``/verification/v3/send`` endpoint with ``type=SMS`` [seed][code].
* Everything travels in the query string, the body is empty [doc]. So the message text and the
  number sit in the URL: whoever logs URLs (httpx logs every request at INFO) must be silenced.
* Token lifetime is undocumented [doc: absent]; tokens are HS512 JWTs [code], so the ``exp`` claim is
  read (never verified: we are not the audience) and the token is reused until 5 minutes before it,
  or for an hour when there is no readable ``exp`` [guess]. A dashboard "Auth Token" may be configured
  instead (``auth_token``); it is used as is, and a 401 then falls back to the token call only when a
  password is configured too.
* Whether business errors come with HTTP 200 or a 4xx is undocumented [code]: the body's
  ``responseCode`` decides, the HTTP status only stands in when there is no readable body.
  HTTP 401/403 always mean "token": refresh once, retry once.
* The code table is the majority reading of the vendor PDF [code]; 700 and 704 are read as
  "expired" defensively [guess], 409 on send as a plain rejection (its meaning is undocumented and
  no verification id comes back, so letting the chain fall over is the safe reading) [guess].
* Vendor replies echo the mobile number, so error details never include reply excerpts, only the
  vendor's short ``message`` with digit runs removed.
* Delivery receipt shape and states are [seed] only; ``transactionId`` (a UUID, like the receipt's
  ``messageId``) is preferred as our message id over ``verificationId`` [guess].
"""

from __future__ import annotations

import base64
import binascii
import functools
import re
import time
from collections.abc import Callable, Mapping
from typing import ClassVar, Literal

import httpx
import msgspec

from . import _http
from ._token import Grant, TokenCache
from .base import (
    DEFAULT_SEND_OPTIONS,
    CheckOutcome,
    DeliveryStatus,
    DeliveryUpdate,
    Msisdn,
    ProviderAuthError,
    ProviderError,
    ProviderProtocolError,
    ProviderRejected,
    ProviderUnavailable,
    ReceiptBatch,
    SendOptions,
    SendReceipt,
    StartedVerification,
    VendorSettings,
    VerificationPending,
)
from .registry import ProviderSpec

__all__ = (
    "OTP_LENGTH_RANGE",
    "SPEC",
    "MessageCentralSettings",
    "MessageCentralSms",
    "MessageCentralVerify",
    "clamp_code_length",
    "parse_receipts",
)

NAME = "message_central"
OTP_LENGTH_RANGE = (4, 8)  # VerifyNow `otpLength` [doc]
TOKEN_PATH = "/auth/v1/authentication/token"  # noqa: S105 (a path, not a password)
SEND_PATH = "/verification/v3/send"
VALIDATE_PATH = "/verification/v3/validateOtp"
REFRESH_MARGIN_S = 300.0  # renew this long before the JWT's exp
FALLBACK_TOKEN_TTL_S = 3600.0  # for a token whose exp cannot be read [guess]
_ACCEPT = {"accept": "*/*"}
Clock = Callable[[], float]


def clamp_code_length(n: int) -> int:
    """The code length VerifyNow will actually use for a request of ``n`` digits."""
    low, high = OTP_LENGTH_RANGE
    return max(low, min(high, n))


class MessageCentralSettings(VendorSettings, frozen=True, kw_only=True):
    secret_fields: ClassVar[frozenset[str]] = frozenset({"password", "auth_token"})

    base_url: str = "https://cpaas.messagecentral.com"
    customer_id: str = ""
    password: str = ""
    auth_token: str = ""  # optional dashboard token: skips the token call while it works
    email: str = ""
    country: str = ""  # optional `country` dial code for the token call
    mode: Literal["verify_now", "sms"] = "verify_now"
    sender_id: str = ""  # sms mode `senderId`
    message_type: str = "OTP"  # sms mode `messageType` (OTP|TRANSACTION|PROMOTIONAL; spelling [guess])

    def __post_init__(self) -> None:
        if not self.base_url.startswith(("https://", "http://")):
            raise ValueError("base_url must be an http(s) URL")
        if self.country and not self.country.isdigit():
            raise ValueError("country must be a dial code of digits, e.g. 91")


class _Claims(msgspec.Struct):
    exp: float | None = None


class _TokenReply(msgspec.Struct):
    status: int | None = None
    token: str | None = None
    error: str | None = None


class _Data(msgspec.Struct, rename="camel"):
    verification_id: str | int | None = None
    transaction_id: str | int | None = None
    reference_id: str | int | None = None
    timeout: str | int | float | None = None
    verification_status: str | None = None


class _Envelope(msgspec.Struct, rename="camel"):
    response_code: int | str | None = None
    message: str | None = None
    data: _Data | None = None


_TOKEN = msgspec.json.Decoder(_TokenReply)
_ENVELOPE = msgspec.json.Decoder(_Envelope)
_CLAIMS = msgspec.json.Decoder(_Claims)


_ENUM_WORD = re.compile(r"[A-Z][A-Z_]{1,47}")  # documented messages look like WRONG_OTP_PROVIDED


def _as_str(value: str | int | None) -> str | None:
    return None if value is None or value == "" else str(value)


def _jwt_exp(token: str) -> float | None:
    """The ``exp`` claim of a JWT, read without verifying the signature (not ours to verify)."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        payload = base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4))
        return _CLAIMS.decode(payload).exp
    except (binascii.Error, ValueError, *_http.UNREADABLE):
        return None


def _grant(token: str, now: float) -> Grant:
    """Keep a token until shortly before its ``exp``, or an hour when it has none we can read."""
    exp = _jwt_exp(token)
    if exp is None:
        return Grant(token, FALLBACK_TOKEN_TTL_S)
    left = exp - now  # short-lived tokens are kept for half their remaining life rather than not at all
    return Grant(token, max(0.0, left - min(REFRESH_MARGIN_S, left / 2)))


async def _fetch_token(settings: MessageCentralSettings, client: httpx.AsyncClient, clock: Clock) -> Grant:
    s = settings
    if not s.password:
        raise ProviderAuthError(NAME, "auth token refused or expired, and no password to renew it")
    key = base64.b64encode(s.password.encode()).decode("ascii")
    params = {"customerId": s.customer_id, "key": key, "scope": "NEW", "email": s.email, "country": s.country}
    url, params = s.base_url.rstrip("/") + TOKEN_PATH, {k: v for k, v in params.items() if v}
    response = await _http.call(client, NAME, s, "GET", url, delivers=False, params=params, headers=_ACCEPT)
    status = response.status_code
    if _http.unavailable(status):
        raise ProviderUnavailable(NAME, f"token: HTTP {status}", status_code=status)
    try:
        reply = _TOKEN.decode(response.content)
    except _http.UNREADABLE:
        error = ProviderAuthError if status >= 300 else ProviderProtocolError
        raise error(NAME, f"token: unexpected reply (HTTP {status})", status_code=status) from None
    if status < 300 and reply.status == 200 and reply.token:
        return _grant(reply.token, clock())
    reason = _http.scrub(reply.error or "no token", secrets=(*s.secrets(), key))[:80]
    vendor_code = None if reply.status is None else str(reply.status)
    raise ProviderAuthError(NAME, f"token refused: {reason}", status_code=status, vendor_code=vendor_code)


Op = Literal["send", "sms", "check"]
_OK: Literal["ok"] = "ok"

# What each business code means per operation: the success path, an answer (check only) or an error.
# A documented code missing from an operation's table makes no sense there (ProviderProtocolError).
_Meaning = Literal["ok"] | CheckOutcome | type[ProviderError]
_COMMON: dict[int, _Meaning] = {
    200: _OK,
    400: ProviderRejected,  # BAD_REQUEST
    500: ProviderUnavailable,  # SERVER_ERROR
    501: ProviderAuthError,  # INVALID_CUSTOMER_ID
    511: ProviderRejected,  # INVALID_COUNTRY_CODE
}
_CODES: dict[Op, dict[int, _Meaning]] = {
    "send": {
        **_COMMON,
        409: ProviderRejected,  # DUPLICATE_RESOURCE: meaning undocumented, and nothing to check later
        506: VerificationPending,  # REQUEST_ALREADY_EXISTS: wait for the vendor's `timeout`
        800: ProviderRejected,  # MAXIMUM_LIMIT_REACHED: vendor throttle, the chain may fall over
    },
    "check": {
        **_COMMON,
        505: CheckOutcome.EXPIRED,  # INVALID_VERIFICATION_ID
        700: CheckOutcome.EXPIRED,  # VERIFICATION_FAILED (defensive)
        702: CheckOutcome.WRONG_CODE,  # WRONG_OTP_PROVIDED
        703: CheckOutcome.EXPIRED,  # ALREADY_VERIFIED
        704: CheckOutcome.EXPIRED,  # OTP_EXPIRED in some clients
        705: CheckOutcome.EXPIRED,  # VERIFICATION_EXPIRED
        800: CheckOutcome.LOCKED,  # MAXIMUM_LIMIT_REACHED
    },
}
_CODES["sms"] = {**_CODES["send"], 506: ProviderRejected}  # the code is ours: another provider may deliver it
_DOCUMENTED = frozenset(code for table in _CODES.values() for code in table)


class _Client:
    """Token handling, the 401 retry and the code table, shared by both adapter classes."""

    name = NAME

    def __init__(
        self, settings: MessageCentralSettings, client: httpx.AsyncClient, *, clock: Clock = time.time
    ) -> None:
        self._settings = settings
        self._client = client
        login = functools.partial(_fetch_token, settings, client, clock)
        dashboard = _grant(settings.auth_token, clock()) if settings.auth_token else None
        self._tokens = TokenCache(login, clock=clock, initial=dashboard)

    async def _request(self, op: Op, method: str, path: str, params: dict[str, str]) -> _Envelope | CheckOutcome:
        url = self._settings.base_url.rstrip("/") + path
        params["customerId"] = self._settings.customer_id
        call = functools.partial(_http.call, self._client, NAME, self._settings, method, url, params=params)
        token = await self._tokens.get()
        for attempt in (1, 2):
            response = await call(delivers=op != "check", headers={"authToken": token})
            if response.status_code not in (401, 403):
                return _classify(op, response)
            if attempt == 1:
                token = await self._tokens.renew(token)
        status = response.status_code
        raise ProviderAuthError(NAME, f"{op}: HTTP {status} after token renewal", status_code=status)

    @staticmethod
    def _number(to: Msisdn) -> dict[str, str]:
        return {"countryCode": to.country_code, "mobileNumber": to.national_number}


def _classify(op: Op, response: httpx.Response) -> _Envelope | CheckOutcome:
    """The body's ``responseCode`` decides; the HTTP status stands in when there is none."""
    status = response.status_code
    envelope = _http.decode_or_none(_ENVELOPE, response)
    raw = envelope.response_code if envelope else None
    code = int(raw) if isinstance(raw, int) or (raw and raw.strip().isdigit()) else None
    if code is None or (code == 200 and status >= 300):
        if status < 300:
            raise ProviderProtocolError(NAME, f"{op}: unexpected reply (HTTP {status})", status_code=status)
        code = status
    meaning = _CODES[op].get(code)
    if meaning == _OK:
        return envelope or _Envelope()
    if isinstance(meaning, CheckOutcome):
        return meaning
    message = envelope.message if envelope and envelope.message else ""
    vendor = f"{code} {message}" if _ENUM_WORD.fullmatch(message) else str(code)  # replies may echo numbers
    if meaning is None:
        if code in _DOCUMENTED:
            detail = f"{op}: unexpected vendor code {vendor}"
            raise ProviderProtocolError(NAME, detail, status_code=status, vendor_code=str(code))
        meaning = ProviderProtocolError if op == "check" else ProviderRejected
        meaning = ProviderUnavailable if _http.unavailable(status) else meaning
    assert not isinstance(meaning, str)
    raise meaning(NAME, f"{op}: vendor code {vendor}", status_code=status, vendor_code=str(code))


def _message_id(data: _Data | None) -> str | None:
    ids = (data.transaction_id, data.reference_id, data.verification_id) if data else ()
    return next((str(i) for i in ids if i is not None and i != ""), None)


class MessageCentralVerify(_Client):
    """VerifyNow: Message Central generates, delivers and checks the code."""

    code_length_range = OTP_LENGTH_RANGE

    async def start(
        self, to: Msisdn, *, code_length: int, options: SendOptions = DEFAULT_SEND_OPTIONS
    ) -> StartedVerification:
        length = clamp_code_length(code_length)
        params = {**self._number(to), "flowType": "SMS", "otpLength": str(length)}
        result = await self._request("send", "POST", SEND_PATH, params)
        data = result.data if isinstance(result, _Envelope) else None
        reference = _as_str(data.verification_id) if data else None
        if data is None or reference is None:
            raise ProviderProtocolError(NAME, "send: success without verificationId", status_code=200)
        return StartedVerification(
            provider=NAME,
            reference=reference,
            code_length=length,
            expires_in_s=_seconds(data.timeout),
            message_id=_message_id(data),
        )

    async def check(self, to: Msisdn, code: str, *, reference: str) -> CheckOutcome:
        params = {"verificationId": reference, "code": code, **self._number(to)}
        result = await self._request("check", "GET", VALIDATE_PATH, params)
        if isinstance(result, CheckOutcome):
            return result
        status = result.data.verification_status if result.data else None
        if status == "VERIFICATION_COMPLETED":
            return CheckOutcome.APPROVED
        if status:  # a 200 that does not say "completed" is never an approval [guess]
            return CheckOutcome.WRONG_CODE
        raise ProviderProtocolError(NAME, "check: success without verificationStatus", status_code=200)


class MessageCentralSms(_Client):
    """Message Now: our text, holding our code, through the VerifyNow send endpoint."""

    max_length = 1000  # undocumented [guess]

    async def send(
        self, to: Msisdn, text: str, *, reference: str, options: SendOptions = DEFAULT_SEND_OPTIONS
    ) -> SendReceipt:
        s = self._settings
        params = {**self._number(to), "flowType": "SMS", "type": "SMS", "messageType": s.message_type, "message": text}
        if s.sender_id:
            params["senderId"] = s.sender_id
        result = await self._request("sms", "POST", SEND_PATH, params)
        data = result.data if isinstance(result, _Envelope) else None
        return SendReceipt(provider=NAME, message_id=_message_id(data))


def _seconds(value: str | int | float | None) -> int | None:
    try:
        seconds = int(float(value)) if value is not None else 0
    except (ValueError, OverflowError):
        return None
    return seconds if seconds > 0 else None


class _Receipt(msgspec.Struct, rename="camel"):
    status: str
    message_id: str | int | None = None
    client_id: str | int | None = None


_RECEIPTS = msgspec.json.Decoder(_Receipt | list[_Receipt])
_STATES = {
    "DELIVRD": DeliveryStatus.DELIVERED,
    "UNDELIV": DeliveryStatus.UNDELIVERED,
    "EXPIRED": DeliveryStatus.UNDELIVERED,
    "REJECTD": DeliveryStatus.FAILED,
    "UNKNOWN": DeliveryStatus.UNKNOWN,
}


def parse_receipts(body: bytes, headers: Mapping[str, str]) -> ReceiptBatch:
    """One DLR object, or an array of them, into updates; unknown states become UNKNOWN."""
    decoded = _http.decode_receipt(_RECEIPTS, body, f"{NAME}: not a delivery report")
    receipts = decoded if isinstance(decoded, list) else [decoded]
    updates = [
        DeliveryUpdate(
            status=_STATES.get(r.status.strip().upper(), DeliveryStatus.UNKNOWN),
            message_id=_as_str(r.message_id),
            reference=_as_str(r.client_id),
            vendor_status=r.status[:32],
        )
        for r in receipts
    ]
    return ReceiptBatch(updates=updates)


def _build(settings: MessageCentralSettings, client: httpx.AsyncClient) -> MessageCentralVerify | MessageCentralSms:
    adapter = MessageCentralVerify if settings.mode == "verify_now" else MessageCentralSms
    return adapter(settings, client)


def _is_configured(settings: MessageCentralSettings) -> bool:
    return bool(settings.customer_id and (settings.password or settings.auth_token))


SPEC = ProviderSpec(
    name=NAME,
    env_prefix="MESSAGE_CENTRAL",
    settings_type=MessageCentralSettings,
    build=_build,
    is_configured=_is_configured,
    receipts=parse_receipts,
)
