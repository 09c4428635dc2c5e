"""Provider adapter contracts.

The vendors split into two kinds, so there are two protocols (django-otp's split: the core owns
codes, plug-ins only deliver):

* :class:`SmsSender` delivers a text we wrote, holding a code we generated and hashed.
* :class:`VerificationProvider` makes, delivers and checks the code itself (Message Central VerifyNow).

Every adapter raises only the errors below, so the fallback chain can decide from the type alone
whether the next provider may be tried:

* ProviderError
  * ProviderUnavailable      retryable: connect error / connect timeout / 5xx / 429. Nothing delivered.
  * ProviderDeliveryUnknown  read timeout (or garbled 2xx) after the request left: may have been delivered.
  * ProviderRejected         the vendor said no (bad number, blocked, no balance).
    * ProviderAuthError      credentials wrong or expired and a refresh did not help.
    * VerificationPending    the vendor already has an open verification for this number (MC 506).
  * ProviderProtocolError    the response did not match the documented shape, or could not be read
                             (over MAX_VENDOR_BODY_BYTES, not UTF-8, nested too deeply).

Receipts: each adapter module that accepts delivery receipts exposes a :class:`ReceiptParser`, which
turns the vendor's callback body into :class:`DeliveryUpdate` values plus the body the vendor expects
back (Gatum wants its ``id_state`` values echoed).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any, ClassVar, Protocol, runtime_checkable

import msgspec

__all__ = (
    "DEFAULT_SEND_OPTIONS",
    "MAX_VENDOR_BODY_BYTES",
    "SMS_ONLY",
    "Channel",
    "CheckOutcome",
    "DeliveryLookup",
    "DeliveryStatus",
    "DeliveryUpdate",
    "Msisdn",
    "ProviderAuthError",
    "ProviderDeliveryUnknown",
    "ProviderError",
    "ProviderProtocolError",
    "ProviderRejected",
    "ProviderUnavailable",
    "ReceiptBatch",
    "ReceiptError",
    "ReceiptParser",
    "SendOptions",
    "SendReceipt",
    "SmsSender",
    "StartedVerification",
    "VendorSettings",
    "VerificationPending",
    "VerificationProvider",
    "channels_of",
)


# The longest vendor reply or receipt body read: an OTP reply or a receipt is a few hundred bytes, so
# anything longer is a bad reply (a bad receipt), not something to download or decode.
MAX_VENDOR_BODY_BYTES = 64 * 1024


class Channel(enum.StrEnum):
    """What carries the code to the phone; an adapter lists the ones it can use in ``channels``."""

    SMS = "sms"
    WHATSAPP = "whatsapp"


SMS_ONLY: frozenset[Channel] = frozenset({Channel.SMS})


def channels_of(adapter: object) -> frozenset[Channel]:
    """The channels an adapter declares (``channels``); an adapter that declares none carries SMS only."""
    declared = getattr(adapter, "channels", None)
    return frozenset(declared) if declared else SMS_ONLY


class SendOptions(msgspec.Struct, frozen=True, kw_only=True):
    """What a send may ask of the vendor beyond the text; an adapter uses what its API has.

    One struct rather than one keyword per feature, so a new option does not change every adapter's
    signature. Adapters that cannot honour an option ignore it unless the option says otherwise.
    """

    channel: Channel = Channel.SMS
    validity_s: int | None = None  # how long the message is still worth delivering (the code's lifetime left)
    sender_id: str | None = None  # a route's sender id, overriding the adapter's configured one
    locale: str | None = None


DEFAULT_SEND_OPTIONS = SendOptions()


class Msisdn(msgspec.Struct, frozen=True):
    """A phone number already validated by ``otp_service.domain.phone``; adapters only pick a format."""

    country_code: str  # "55"
    national_number: str  # "11987654321" (phonenumbers' national number, no trunk prefix)

    @property
    def e164(self) -> str:
        return f"+{self.country_code}{self.national_number}"

    @property
    def digits(self) -> str:
        return f"{self.country_code}{self.national_number}"

    def masked(self) -> str:
        """The only form allowed in logs and errors: country code and last three digits."""
        national = self.national_number
        keep = 3 if len(national) > 5 else 1
        return f"+{self.country_code}{'*' * (len(national) - keep)}{national[-keep:]}"

    @classmethod
    def from_e164(cls, e164: str, country_code: int | str) -> Msisdn:
        cc = str(country_code)
        if not e164.startswith(f"+{cc}"):
            raise ValueError("country code does not prefix the number")
        return cls(cc, e164[len(cc) + 1 :])


class SendReceipt(msgspec.Struct, frozen=True, kw_only=True):
    provider: str
    message_id: str | None = None


class StartedVerification(msgspec.Struct, frozen=True, kw_only=True):
    provider: str
    reference: str  # the vendor's verification id (MC verificationId)
    code_length: int  # the length the vendor was asked for, after clamping to its range
    expires_in_s: int | None = None  # the vendor's own window (MC `timeout`), if it reports one
    message_id: str | None = None


class CheckOutcome(enum.StrEnum):
    APPROVED = "approved"
    WRONG_CODE = "wrong_code"
    EXPIRED = "expired"  # expired, already used, or unknown reference: the vendor's side is dead
    LOCKED = "locked"  # the vendor stopped accepting attempts (MC 800)


class DeliveryStatus(enum.StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"
    FAILED = "failed"
    UNKNOWN = "unknown"


class DeliveryUpdate(msgspec.Struct, frozen=True, kw_only=True):
    """One state change reported by a vendor callback.

    ``message_id`` is the vendor's id for the message (what ``SendReceipt.message_id`` held);
    ``reference`` is our verification id when the vendor echoes it (Wavy ``correlationId``,
    Instasent ``clientId``). Either may be missing; the service matches on whichever it has.
    """

    status: DeliveryStatus
    message_id: str | None = None
    reference: str | None = None
    vendor_status: str | None = None  # raw state, for logs and metrics (never contains secrets)
    to: str | None = None  # the number as the vendor names it (digits, country code first), when it does


class ReceiptBatch(msgspec.Struct, frozen=True, kw_only=True):
    updates: list[DeliveryUpdate]
    response: Any = None  # JSON body to answer the vendor with; None means `{"received": n}`


class ProviderError(Exception):
    """Base of every adapter error.

    ``detail`` must never contain the code, the message text, a secret or an unmasked number:
    it reaches logs and (as the provider name plus a short reason) the 503 body.
    """

    retryable: ClassVar[bool] = False

    def __init__(
        self,
        provider: str,
        detail: str,
        *,
        status_code: int | None = None,
        vendor_code: str | None = None,
    ) -> None:
        super().__init__(f"{provider}: {detail}")
        self.provider = provider
        self.detail = detail
        self.status_code = status_code
        self.vendor_code = vendor_code


class ProviderUnavailable(ProviderError):
    retryable = True


class ProviderDeliveryUnknown(ProviderError):
    pass


class ProviderRejected(ProviderError):
    pass


class ProviderAuthError(ProviderRejected):
    pass


class VerificationPending(ProviderRejected):
    pass


class ProviderProtocolError(ProviderError):
    pass


class ReceiptError(ValueError):
    """A callback body that does not match the vendor's documented shape (answered with 400)."""


class VendorSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Base for each adapter's settings; ``repr`` hides every field named in ``secret_fields``."""

    secret_fields: ClassVar[frozenset[str]] = frozenset()

    connect_timeout_s: float = 2.0  # a vendor that cannot be reached in this time is skipped
    timeout_s: float = 5.0  # total budget for one vendor call, connect included

    def __repr__(self) -> str:
        parts = []
        for name in self.__struct_fields__:
            value = "'***'" if name in self.secret_fields and getattr(self, name) else repr(getattr(self, name))
            parts.append(f"{name}={value}")
        return f"{type(self).__name__}({', '.join(parts)})"

    def secrets(self) -> list[str]:
        """Every configured secret value, so log redaction can scrub them wherever they appear."""
        return [str(v) for n in self.secret_fields if (v := getattr(self, n, None))]


@runtime_checkable
class SmsSender(Protocol):
    """We generate, hash and check the code; the adapter only delivers the text."""

    name: str
    max_length: int  # longest text the vendor accepts in one request

    async def send(
        self, to: Msisdn, text: str, *, reference: str, options: SendOptions = DEFAULT_SEND_OPTIONS
    ) -> SendReceipt:
        """Deliver ``text``; ``reference`` is our verification id, echoed by vendors that can."""
        ...


@runtime_checkable
class VerificationProvider(Protocol):
    """The vendor generates, delivers and checks the code."""

    name: str
    code_length_range: tuple[int, int]  # the code lengths the vendor can make; settings warn outside it

    async def start(
        self, to: Msisdn, *, code_length: int, options: SendOptions = DEFAULT_SEND_OPTIONS
    ) -> StartedVerification: ...

    async def check(self, to: Msisdn, code: str, *, reference: str) -> CheckOutcome: ...


@runtime_checkable
class DeliveryLookup(Protocol):
    """A sender whose vendor can be asked for a message's state (for receipts that never arrived).

    ``to`` and ``sent_at_s`` (Unix seconds of the send) are for vendors that search by number and
    time rather than by id. None means the vendor does not know the message (yet); errors are the
    usual :class:`ProviderError` tree.
    """

    async def delivery_status(self, message_id: str, *, to: Msisdn, sent_at_s: float) -> DeliveryUpdate | None: ...


class ReceiptParser(Protocol):
    """Turns one vendor callback into updates; raises :class:`ReceiptError` on a bad body."""

    def __call__(self, body: bytes, headers: Mapping[str, str]) -> ReceiptBatch: ...
