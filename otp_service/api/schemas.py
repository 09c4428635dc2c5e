"""Request and response bodies of the public contract (``docs/api.md``).

Constraints live in ``msgspec.Meta`` so msgspec enforces them on decode and Litestar copies them into
the OpenAPI document. Unknown fields are refused: a typo such as ``"cod"`` must be a 400, not a
silently ignored field.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

import msgspec

from ..domain.models import CheckResult, DeliveryStatus, Verification
from ..domain.patterns import whole
from ..domain.policy import LiveSettings
from ..domain.times import rfc3339

__all__ = (
    "AuditEntryOut",
    "CheckIn",
    "CheckOut",
    "DeliveryOut",
    "SettingsOut",
    "StartIn",
    "VerificationOut",
    "check_out",
    "verification_out",
)

PhoneText = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=40,
        description="Phone number in international form with a leading '+'; spaces, dashes and brackets allowed.",
        examples=["+34 600 100 200"],
    ),
]
VerificationId = Annotated[
    str, msgspec.Meta(pattern=whole("vf_[0-9a-f]{32}"), examples=["vf_0123456789abcdef0123456789abcdef"])
]
Code = Annotated[
    str, msgspec.Meta(pattern=whole("[0-9]{4,10}"), description="The digits the user typed.", examples=["123456"])
]
Locale = Annotated[
    str, msgspec.Meta(pattern=whole("[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8}){0,3}"), max_length=35, examples=["es", "pt-BR"])
]
AppHash = Annotated[
    str,
    msgspec.Meta(
        pattern=whole("[A-Za-z0-9+/]{11}"), description="Android SMS Retriever app hash.", examples=["FA+9qCX9VSu"]
    ),
]
Timestamp = Annotated[str, msgspec.Meta(description="RFC 3339 UTC", examples=["2026-11-23T18:00:00Z"])]

if TYPE_CHECKING:
    DeliveryStatusOut = DeliveryStatus
else:
    # The same enum, written for Litestar as a Literal of its values so the OpenAPI document keeps
    # them inline (an enum type would become a separate component and change the document).
    DeliveryStatusOut = Literal[tuple(status.value for status in DeliveryStatus)]


EndUserIp = Annotated[
    str,
    msgspec.Meta(
        min_length=2,
        max_length=45,
        description="The end user's IP address (IPv4 or IPv6), when a backend calls on the user's behalf: "
        "the per-IP limit counts it instead of the caller's address.",
        examples=["203.0.113.7", "2001:db8::1"],
    ),
]
EndUserId = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=128,
        pattern=whole("[A-Za-z0-9_][A-Za-z0-9_.:@=+/-]{0,127}"),  # it reaches the logs: a token, no spaces
        description="The app's own opaque id for the end user, for logs. Never a phone number.",
        examples=["user_8f14e45f"],
    ),
]


ChannelValue = Literal["sms", "whatsapp"]
ReasonValue = Literal["refused", "undelivered", "no_receipt"]
ChannelName = Annotated[
    ChannelValue,
    msgspec.Meta(description="What carries the code; WhatsApp falls back to SMS when it cannot deliver."),
]
FallbackReason = Annotated[
    ReasonValue,
    msgspec.Meta(
        description="Why WhatsApp gave way to SMS: no provider took it, a receipt said undelivered, "
        "or no delivered receipt within whatsapp_fallback_seconds."
    ),
]


class StartIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    to: PhoneText
    channel: ChannelName = "sms"
    locale: Locale | None = None
    app_hash: AppHash | None = None
    end_user_ip: EndUserIp | None = None
    end_user_id: EndUserId | None = None


class CheckIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    code: Code
    to: PhoneText | None = None
    id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] | None = None
    end_user_ip: EndUserIp | None = None
    end_user_id: EndUserId | None = None


class DeliveryOut(msgspec.Struct, kw_only=True):
    status: DeliveryStatusOut
    provider: str
    updated_at: Timestamp
    segments: int | None = None
    encoding: str | None = None


class VerificationOut(msgspec.Struct, kw_only=True):
    id: str
    to: str
    channel: ChannelName
    status: Literal["pending", "approved", "canceled", "expired", "max_attempts_reached", "failed"]
    provider: str
    code_length: int
    attempts_left: int
    expires_at: Timestamp
    resend_available_at: Timestamp
    created_at: Timestamp
    delivery: DeliveryOut
    channels: list[ChannelValue] = msgspec.field(default_factory=lambda: ["sms"])
    fallback_reason: FallbackReason | None = None


class CheckOut(msgspec.Struct, kw_only=True, omit_defaults=True):
    id: str
    to: str
    status: Literal["pending", "approved", "max_attempts_reached"]
    valid: bool
    attempts_left: int | msgspec.UnsetType = msgspec.UNSET


class SettingsOut(LiveSettings, frozen=True, kw_only=True):
    warnings: list[str] = msgspec.field(default_factory=list)


class AuditEntryOut(msgspec.Struct, kw_only=True):
    time: Timestamp
    admin: str
    field: str
    old: Any
    new: Any


_CHANNELS: dict[str, ChannelValue] = {"sms": "sms", "whatsapp": "whatsapp"}
_REASONS: dict[str, ReasonValue] = {"refused": "refused", "undelivered": "undelivered", "no_receipt": "no_receipt"}


def _channels_used(v: Verification) -> list[ChannelValue]:
    """The channels in the order used: WhatsApp first when it gave way to SMS."""
    current = _CHANNELS.get(v.channel, "sms")
    return ["whatsapp", current] if v.requested_channel == "whatsapp" and current == "sms" else [current]


def verification_out(v: Verification, now_ms: int) -> VerificationOut:
    status = v.effective_status(now_ms)
    attempts = v.attempts_left if status == "pending" else max(0, v.attempts_left)
    return VerificationOut(
        id=v.id,
        to=v.to,
        channel=_CHANNELS.get(v.channel, "sms"),
        status=status.value,
        provider=v.provider,
        code_length=v.code_length,
        attempts_left=attempts,
        expires_at=rfc3339(v.expires_ms),
        resend_available_at=rfc3339(v.resend_ms),
        created_at=rfc3339(v.created_ms),
        delivery=DeliveryOut(
            status=v.delivery_status,
            provider=v.delivery_provider or v.provider,
            updated_at=rfc3339(v.delivery_ms or v.created_ms),
            segments=v.segments or None,
            encoding=v.encoding or None,
        ),
        channels=_channels_used(v),
        fallback_reason=_REASONS.get(v.fallback_reason),
    )


def check_out(result: CheckResult) -> CheckOut:
    return CheckOut(
        id=result.id,
        to=result.to,
        status=result.status.value,  # type: ignore[arg-type]
        valid=result.valid,
        attempts_left=msgspec.UNSET if result.attempts_left is None else result.attempts_left,
    )
