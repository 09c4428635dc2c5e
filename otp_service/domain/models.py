"""The verification record as stored in Redis and as the service reasons about it."""

from __future__ import annotations

import enum

import msgspec

from providers import DeliveryStatus  # the vendors' receipts speak it; stored and answered as is

__all__ = ("CheckResult", "DeliveryStatus", "Mode", "Status", "Verification")


class Status(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    CANCELED = "canceled"
    EXPIRED = "expired"
    MAX_ATTEMPTS_REACHED = "max_attempts_reached"
    FAILED = "failed"


class Mode(enum.StrEnum):
    LOCAL = "local"  # we generated the code and hold its argon2 hash
    DELEGATED = "delegated"  # the vendor made the code and checks it (Message Central VerifyNow)
    TEST = "test"  # a configured test number: fixed code, nothing sent


class Verification(msgspec.Struct, kw_only=True):
    id: str
    to: str
    channel: str = "sms"
    status: Status
    mode: Mode
    provider: str
    reference: str = ""
    code_length: int
    attempts_left: int
    max_attempts: int
    created_ms: int
    expires_ms: int
    resend_ms: int
    delivery_status: DeliveryStatus = DeliveryStatus.UNKNOWN
    delivery_provider: str = ""
    delivery_ms: int = 0
    message_id: str = ""
    segments: int = 0
    encoding: str = ""
    client: str = ""
    finished_ms: int = 0
    requested_channel: str = ""  # what the send asked for, when it differs from `channel` (channels.py)
    fallback_reason: str = ""  # why WhatsApp gave way to SMS: refused | undelivered | no_receipt
    fallback_state: str = ""  # claimed | done | failed (fallback.py)
    locale: str = ""  # the send's locale, for a fallback SMS's text

    def effective_status(self, now_ms: int) -> Status:
        """A pending verification past its expiry reads as expired (nothing rewrites it in Redis)."""
        if self.status is Status.PENDING and now_ms >= self.expires_ms:
            return Status.EXPIRED
        return self.status


class CheckResult(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    to: str
    status: Status
    valid: bool
    attempts_left: int | None = None
