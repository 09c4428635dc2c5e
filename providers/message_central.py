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
* Delivery receipts: ``message_central_receipts.py``. ``transactionId`` (a UUID, like the receipt's
  ``messageId``) is preferred as our message id over ``verificationId`` [guess].
* ``type=OTP`` on every VerifyNow send and ``flowType`` on validateOtp: "the following parameters need to
  be sent while using VerifyNow APIs: flowType SMS/WHATSAPP/RCS/SAUTH, type OTP" [doc v3]. WhatsApp is
  ``flowType=WHATSAPP`` on the same send; its verification's reference is ``whatsapp:<verificationId>`` so
  that validateOtp can repeat the flow type (our records hold no other per-verification adapter state).
* Message Now (``mode=sms``): ``senderId`` is "Yes (in case of SMS)" [doc], so it is required at start-up;
  India DLT ``templateId`` + ``entityId`` go together or not at all [doc]. A route's sender id
  (``SendOptions.sender_id``) overrides the configured one.
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Callable
from typing import ClassVar, Literal

import httpx
import msgspec

from . import _http
from ._token import TokenCache
from .base import (
    DEFAULT_SEND_OPTIONS,
    Channel,
    CheckOutcome,
    Msisdn,
    ProviderAuthError,
    ProviderError,
    ProviderProtocolError,
    ProviderRejected,
    ProviderUnavailable,
    SendOptions,
    SendReceipt,
    StartedVerification,
    VendorSettings,
    VerificationPending,
)
from .message_central_receipts import parse_receipts
from .message_central_token import fetch_token, grant
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
SEND_PATH = "/verification/v3/send"
VALIDATE_PATH = "/verification/v3/validateOtp"
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
    sender_id: str = ""  # sms mode `senderId`: required by the vendor in sms mode [doc]
    message_type: str = "OTP"  # sms mode `messageType` (OTP|TRANSACTION|PROMOTIONAL; spelling [guess])
    template_id: str = ""  # India DLT `templateId` of an approved template (with entity_id) [doc]
    entity_id: str = ""  # India DLT `entityId` of the brand (with template_id) [doc]

    def __post_init__(self) -> None:
        if not self.base_url.startswith(("https://", "http://")):
            raise ValueError("base_url must be an http(s) URL")
        if self.country and not self.country.isdigit():
            raise ValueError("country must be a dial code of digits, e.g. 91")
        if self.mode == "sms" and not self.sender_id.strip():
            raise ValueError(
                "MESSAGE_CENTRAL_SENDER_ID: required when MESSAGE_CENTRAL_MODE=sms "
                "(Message Now needs the approved sender id, senderId)"
            )
        if bool(self.template_id) != bool(self.entity_id):
            raise ValueError("MESSAGE_CENTRAL_TEMPLATE_ID / MESSAGE_CENTRAL_ENTITY_ID: set both (India DLT) or neither")


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


_ENVELOPE = msgspec.json.Decoder(_Envelope)


_ENUM_WORD = re.compile(r"[A-Z][A-Z_]{1,47}")  # documented messages look like WRONG_OTP_PROVIDED


def _as_str(value: str | int | None) -> str | None:
    return None if value is None or value == "" else str(value)


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
        login = functools.partial(fetch_token, settings, client, clock)
        dashboard = grant(settings.auth_token, clock()) if settings.auth_token else None
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


_WHATSAPP_REF = "whatsapp:"


class MessageCentralVerify(_Client):
    """VerifyNow: Message Central generates, delivers and checks the code, by SMS or WhatsApp."""

    code_length_range = OTP_LENGTH_RANGE
    channels = frozenset({Channel.SMS, Channel.WHATSAPP})

    async def start(
        self, to: Msisdn, *, code_length: int, options: SendOptions = DEFAULT_SEND_OPTIONS
    ) -> StartedVerification:
        length = clamp_code_length(code_length)
        flow = "WHATSAPP" if options.channel is Channel.WHATSAPP else "SMS"
        params = {**self._number(to), "flowType": flow, "type": "OTP", "otpLength": str(length)}
        result = await self._request("send", "POST", SEND_PATH, params)
        data = result.data if isinstance(result, _Envelope) else None
        reference = _as_str(data.verification_id) if data else None
        if data is None or reference is None:
            raise ProviderProtocolError(NAME, "send: success without verificationId", status_code=200)
        if flow == "WHATSAPP":
            reference = _WHATSAPP_REF + reference
        return StartedVerification(
            provider=NAME,
            reference=reference,
            code_length=length,
            expires_in_s=_seconds(data.timeout),
            message_id=_message_id(data),
        )

    async def check(self, to: Msisdn, code: str, *, reference: str) -> CheckOutcome:
        flow = "WHATSAPP" if reference.startswith(_WHATSAPP_REF) else "SMS"
        verification_id = reference.removeprefix(_WHATSAPP_REF)
        params = {"verificationId": verification_id, "code": code, "flowType": flow, **self._number(to)}
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
        params["senderId"] = options.sender_id or s.sender_id
        if s.template_id:
            params |= {"templateId": s.template_id, "entityId": s.entity_id}
        result = await self._request("sms", "POST", SEND_PATH, params)
        data = result.data if isinstance(result, _Envelope) else None
        return SendReceipt(provider=NAME, message_id=_message_id(data))


def _seconds(value: str | int | float | None) -> int | None:
    try:
        seconds = int(float(value)) if value is not None else 0
    except (ValueError, OverflowError):
        return None
    return seconds if seconds > 0 else None


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
