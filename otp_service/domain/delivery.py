"""The provider fallback chain.

Rules (the invariant is: never two different live codes for one request):

* A provider that cannot have delivered (connect error or timeout, 5xx, 429, auth failure, a vendor
  refusal) is skipped and the next one is tried within the same request. A local code is generated
  once, lazily, and the same code goes to every sender tried.
* A plain SMS sender whose request left but got no answer may have delivered: stop there and report
  ``delivery: unknown`` (the user can resend after the cooldown).
* A verification provider (Message Central VerifyNow) that gave no ``verificationId`` can never have
  its code checked, so even on a read timeout the chain falls over to the next sender with our code.
* Each provider has a circuit breaker, so a dead vendor does not add its timeout to every request.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

import structlog

from providers import (
    Msisdn,
    ProviderAuthError,
    ProviderDeliveryUnknown,
    ProviderError,
    ProviderProtocolError,
    ProviderRejected,
    Providers,
    ProviderUnavailable,
)

from ..metrics import PROVIDER_ERRORS, PROVIDER_LATENCY, SENDS
from .breaker import Breakers
from .errors import ProviderUnavailableError

__all__ = ("Delivered", "DeliveryChain", "LocalMessage", "error_kind")

log = structlog.get_logger("otp.delivery")


class LocalMessage:
    """Our own code, its pending hash and the rendered text, made once per request."""

    __slots__ = ("code", "code_hash", "encoding", "segments", "text")

    def __init__(self, code: str, text: str, code_hash: Awaitable[str], segments: int, encoding: str) -> None:
        self.code = code
        self.text = text
        self.code_hash = code_hash
        self.segments = segments
        self.encoding = encoding


class Delivered:
    __slots__ = ("code_length", "delivery_status", "local", "message_id", "mode", "provider", "reference", "ttl_cap_s")

    def __init__(
        self,
        *,
        provider: str,
        mode: str,
        delivery_status: str,
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


def _counts_against_health(exc: ProviderError) -> bool:
    """Failures that say the vendor (or our account with it) is unhealthy, not this one request."""
    return isinstance(exc, ProviderUnavailable | ProviderDeliveryUnknown | ProviderAuthError | ProviderProtocolError)


class DeliveryChain:
    def __init__(self, providers: Providers, breakers: Breakers) -> None:
        self.providers = providers
        self.breakers = breakers

    async def deliver(
        self,
        order: list[str],
        to: Msisdn,
        *,
        reference: str,
        code_length: int,
        make_local: Callable[[], LocalMessage],
        code_length_for: Callable[[str], int],
    ) -> Delivered:
        tried: list[dict[str, str]] = []
        local: LocalMessage | None = None
        for name in order:
            verifier = self.providers.verifiers.get(name)
            sender = self.providers.senders.get(name)
            if verifier is None and sender is None:
                tried.append({"provider": name, "reason": "not_configured"})
                continue
            breaker = self.breakers[name]
            if not breaker.allow():
                tried.append({"provider": name, "reason": "circuit_open"})
                SENDS.labels(name, "circuit_open").inc()
                continue
            started_at = time.perf_counter()
            try:
                if verifier is not None:
                    started = await verifier.start(to, code_length=code_length_for(name))
                    breaker.success()
                    SENDS.labels(name, "accepted").inc()
                    return Delivered(
                        provider=name,
                        mode="delegated",
                        delivery_status="queued",
                        reference=started.reference,
                        message_id=started.message_id or "",
                        code_length=started.code_length,
                        ttl_cap_s=started.expires_in_s,
                    )
                assert sender is not None
                if local is None:
                    local = make_local()
                receipt = await sender.send(to, local.text, reference=reference)
                breaker.success()
                SENDS.labels(name, "accepted").inc()
                return Delivered(
                    provider=name,
                    mode="local",
                    delivery_status="queued",
                    local=local,
                    message_id=receipt.message_id or "",
                    code_length=len(local.code),
                )
            except ProviderError as exc:
                kind = error_kind(exc)
                PROVIDER_ERRORS.labels(name, kind).inc()
                if _counts_against_health(exc):
                    breaker.failure()
                else:
                    breaker.release()
                log.warning(
                    "provider.failed",
                    provider=name,
                    reason=kind,
                    # The class only (ReadTimeout, RemoteProtocolError, ...): texts may hold URLs.
                    error=type(exc.__cause__).__name__ if exc.__cause__ is not None else None,
                    status_code=exc.status_code,
                    vendor_code=exc.vendor_code,
                    to=to.masked(),
                )
                may_have_delivered = isinstance(exc, ProviderDeliveryUnknown) or (
                    isinstance(exc, ProviderProtocolError) and (exc.status_code or 0) // 100 == 2
                )
                if sender is not None and local is not None and may_have_delivered:
                    SENDS.labels(name, "unknown").inc()
                    return Delivered(
                        provider=name,
                        mode="local",
                        delivery_status="unknown",
                        local=local,
                        code_length=len(local.code),
                    )
                SENDS.labels(name, kind).inc()
                tried.append({"provider": name, "reason": kind})
            except BaseException:
                # Cancelled (client gone) or our own bug: says nothing about the vendor, but a
                # half-open probe must still end, or the breaker would refuse the vendor for good.
                breaker.release()
                raise
            finally:
                operation = "start" if verifier is not None else "send"
                PROVIDER_LATENCY.labels(name, operation).observe(time.perf_counter() - started_at)
        raise ProviderUnavailableError("No provider could deliver the code.", tried)
