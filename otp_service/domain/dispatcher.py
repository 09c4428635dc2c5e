"""Every call to a vendor, sends and checks alike.

One place decides what a vendor call costs and what its failure means: the circuit breaker, the
metrics (sends by outcome, failures by kind, latency by operation), the ``provider.failed`` log line
and the classification of a failure (a short reason, whether it says the vendor is unhealthy,
whether the message may have gone out anyway). Each call's deadline is the adapter's own connect and
total timeout (``providers/_http.py``, set per vendor in its settings), so a call always ends.

Sending walks the fallback order (the invariant is: never two different live codes for one request):

* A provider that cannot have delivered (connect error or timeout, 5xx, 429, auth failure, a vendor
  refusal) is skipped and the next one is tried within the same request. Our own code is made once,
  lazily (:class:`~.local_code.LocalDraft`), and the same code goes to every sender tried.
* A plain SMS sender whose request left but got no answer may have delivered: stop there and report
  ``delivery: unknown`` (the user can resend after the cooldown).
* A verification provider (Message Central VerifyNow) that gave no ``verificationId`` can never have
  its code checked, so even on a read timeout the chain falls over to the next sender with our code.
* Each provider has a circuit breaker, so a dead vendor does not add its timeout to every request.
* The code has the length the admin set. A verification provider that cannot make that length
  (VerifyNow makes 4 to 8 digits) is skipped for this verification (``code_length_unsupported``);
  where the same provider can also send our code as plain SMS, it does that instead.

Checking asks the vendor that made the code; there is nowhere to fall over to, so any failure is a
503 naming that vendor.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Mapping
from typing import Protocol

import msgspec
import structlog

from providers import (
    DEFAULT_SEND_OPTIONS,
    CheckOutcome,
    DeliveryStatus,
    Msisdn,
    ProviderAuthError,
    ProviderDeliveryUnknown,
    ProviderError,
    ProviderProtocolError,
    ProviderRejected,
    Providers,
    ProviderUnavailable,
    SendOptions,
)
from providers.base import channels_of

from ..metrics import PROVIDER_ERRORS, PROVIDER_LATENCY, SENDS
from .breaker import Breaker, Breakers
from .errors import ProviderUnavailableError
from .local_code import LocalMessage
from .models import Mode
from .receipts import DELIVERY_RANK

__all__ = ("Delivered", "Dispatcher", "MessageDraft", "error_kind")

log = structlog.get_logger("otp.delivery")

_CANNOT_CHECK = "The provider that sent this code cannot check it right now."


class MessageDraft(Protocol):
    """Our own message, made on the first call to :meth:`message` and the same one afterwards."""

    def message(self) -> LocalMessage: ...


_CHANNEL_FIELDS = ("requested_channel", "fallback_reason", "fallback_state", "locale")


class Delivered:
    __slots__ = (
        "channel",
        "code_length",
        "delivery_status",
        "extra",
        "local",
        "message_id",
        "mode",
        "provider",
        "reference",
        "ttl_cap_s",
    )

    def __init__(
        self,
        *,
        provider: str,
        mode: Mode,
        delivery_status: DeliveryStatus,
        local: LocalMessage | None = None,
        reference: str = "",
        message_id: str = "",
        code_length: int = 0,
        ttl_cap_s: int | None = None,
    ) -> None:
        self.provider = provider
        self.mode = mode
        self.delivery_status = delivery_status
        self.local = local
        self.reference = reference
        self.message_id = message_id
        self.code_length = code_length
        self.ttl_cap_s = ttl_cap_s
        self.channel = "sms"  # what carried the code (channels.py sets it)
        # More record fields from the channel logic (channels.py); empty ones clear a resent record's.
        self.extra: dict[str, str] = dict.fromkeys(_CHANNEL_FIELDS, "")

    async def record_fields(self) -> dict[str, str | int]:
        """What a verification record keeps of this delivery: one list for a send and for the SMS
        that replaces a WhatsApp code (``fallback.py``), so the two cannot drift apart."""
        local = self.local
        return {
            "channel": self.channel,
            "mode": self.mode,
            "provider": self.provider,
            "reference": self.reference,
            "code_hash": await local.code_hash if local is not None else "",
            "code_length": self.code_length,
            "delivery_status": self.delivery_status,
            "delivery_provider": self.provider,
            "delivery_rank": DELIVERY_RANK[self.delivery_status],
            "message_id": self.message_id,
            "segments": local.segments if local is not None else 0,
            "encoding": local.encoding if local is not None else "",
        }


def error_kind(exc: ProviderError) -> str:
    """A short, secret-free reason for the 503 body, logs and metric labels."""
    if isinstance(exc, ProviderAuthError):
        return "auth_failed"
    if isinstance(exc, ProviderRejected):
        return "rejected"
    if isinstance(exc, ProviderDeliveryUnknown):
        return "timeout"
    if isinstance(exc, ProviderProtocolError):
        return "bad_response"
    if isinstance(exc, ProviderUnavailable):
        return "unavailable"
    return "error"


def counts_against_health(exc: ProviderError) -> bool:
    """Failures that say the vendor (or our account with it) is unhealthy, not this one request."""
    return isinstance(exc, ProviderUnavailable | ProviderDeliveryUnknown | ProviderAuthError | ProviderProtocolError)


def may_have_delivered(exc: ProviderError) -> bool:
    """The request left and the vendor may have acted on it: no answer, or a 2xx we could not read."""
    return isinstance(exc, ProviderDeliveryUnknown) or (
        isinstance(exc, ProviderProtocolError) and (exc.status_code or 0) // 100 == 2
    )


def _can_make(length: int, supported: tuple[int, int]) -> bool:
    low, high = supported
    return low <= length <= high


class Dispatcher:
    def __init__(self, providers: Providers, breakers: Breakers) -> None:
        self.providers = providers
        self.breakers = breakers

    async def send(
        self,
        order: list[str],
        to: Msisdn,
        *,
        reference: str,
        code_length: int,
        local: MessageDraft,
        options: SendOptions = DEFAULT_SEND_OPTIONS,
        sender_ids: Mapping[str, str] | None = None,
    ) -> Delivered:
        """Deliver through the first provider in ``order`` that takes the message.

        ``code_length`` is the admin's length, exactly: a verification vendor that cannot make it is
        skipped, and so is one that cannot carry ``options.channel``. ``sender_ids``: a route's sender
        id per provider. Raises :class:`ProviderUnavailableError` listing why each one was skipped.
        """
        tried: list[dict[str, str]] = []
        for name in order:
            verifier = self.providers.verifiers.get(name)
            sender = self.providers.senders.get(name)
            if verifier is None and sender is None:
                tried.append({"provider": name, "reason": "not_configured"})
                continue
            if verifier is not None and not _can_make(code_length, verifier.code_length_range):
                if sender is None:
                    tried.append({"provider": name, "reason": "code_length_unsupported"})
                    SENDS.labels(name, "code_length_unsupported").inc()
                    continue
                verifier = None  # our code, as plain SMS
            if options.channel not in channels_of(verifier if verifier is not None else sender):
                tried.append({"provider": name, "reason": "channel_unsupported"})
                continue
            sender_id = (sender_ids or {}).get(name)
            opts = msgspec.structs.replace(options, sender_id=sender_id) if sender_id else options
            breaker = self.breakers[name]
            if not breaker.allow():
                tried.append({"provider": name, "reason": "circuit_open"})
                SENDS.labels(name, "circuit_open").inc()
                continue
            try:
                if verifier is not None:
                    async with self._call(name, "start", breaker, to):
                        started = await verifier.start(to, code_length=code_length, options=opts)
                    SENDS.labels(name, "accepted").inc()
                    return Delivered(
                        provider=name,
                        mode=Mode.DELEGATED,
                        delivery_status=DeliveryStatus.QUEUED,
                        reference=started.reference,
                        message_id=started.message_id or "",
                        code_length=started.code_length,
                        ttl_cap_s=started.expires_in_s,
                    )
                assert sender is not None
                async with self._call(name, "send", breaker, to):
                    message = local.message()
                    receipt = await sender.send(to, message.text, reference=reference, options=opts)
                SENDS.labels(name, "accepted").inc()
                return Delivered(
                    provider=name,
                    mode=Mode.LOCAL,
                    delivery_status=DeliveryStatus.QUEUED,
                    local=message,
                    message_id=receipt.message_id or "",
                    code_length=len(message.code),
                )
            except ProviderError as exc:
                if verifier is None and may_have_delivered(exc):
                    # Our code may be on the phone: sending another one would make two live codes.
                    SENDS.labels(name, "unknown").inc()
                    message = local.message()
                    return Delivered(
                        provider=name,
                        mode=Mode.LOCAL,
                        delivery_status=DeliveryStatus.UNKNOWN,
                        local=message,
                        code_length=len(message.code),
                    )
                kind = error_kind(exc)
                SENDS.labels(name, kind).inc()
                tried.append({"provider": name, "reason": kind})
        raise ProviderUnavailableError("No provider could deliver the code.", tried)

    async def check(self, provider: str, to: Msisdn, code: str, *, reference: str) -> CheckOutcome:
        """Ask the vendor that made the code; :class:`ProviderUnavailableError` if it cannot answer."""
        verifier = self.providers.verifiers.get(provider)
        if verifier is None:
            raise ProviderUnavailableError(
                "The provider that sent this code is not configured here.",
                [{"provider": provider, "reason": "not_configured"}],
            )
        breaker = self.breakers[provider]
        if not breaker.allow():
            raise ProviderUnavailableError(_CANNOT_CHECK, [{"provider": provider, "reason": "circuit_open"}])
        try:
            async with self._call(provider, "check", breaker, to):
                return await verifier.check(to, code, reference=reference)
        except ProviderError as exc:
            raise ProviderUnavailableError(_CANNOT_CHECK, [{"provider": provider, "reason": error_kind(exc)}]) from exc

    @contextlib.asynccontextmanager
    async def _call(self, name: str, operation: str, breaker: Breaker, to: Msisdn) -> AsyncIterator[None]:
        """One vendor call: timed, reported to its breaker, and, if it failed, counted and logged."""
        started_at = time.perf_counter()
        try:
            yield
        except ProviderError as exc:
            kind = error_kind(exc)
            PROVIDER_ERRORS.labels(name, kind).inc()
            if counts_against_health(exc):
                breaker.failure()
            else:
                breaker.release()  # the vendor answered: it is up, the request was the problem
            log.warning(
                "provider.failed",
                provider=name,
                operation=operation,
                reason=kind,
                # The class only (ReadTimeout, RemoteProtocolError, ...): texts may hold URLs.
                error=type(exc.__cause__).__name__ if exc.__cause__ is not None else None,
                status_code=exc.status_code,
                vendor_code=exc.vendor_code,
                to=to.masked(),
            )
            raise
        except BaseException:
            # Cancelled (client gone) or our own bug: says nothing about the vendor, but a
            # half-open probe must still end, or the breaker would refuse the vendor for good.
            breaker.release()
            raise
        else:
            breaker.success()
        finally:
            PROVIDER_LATENCY.labels(name, operation).observe(time.perf_counter() - started_at)
