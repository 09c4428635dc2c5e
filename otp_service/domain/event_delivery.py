"""One delivery attempt: the Standard Webhooks request, signed, posted, and what its answer means.

The body is ``{"type", "timestamp", "data"}`` (the Standard Webhooks payload shape); the headers are
``webhook-id`` (the same on every attempt: receivers deduplicate by it), ``webhook-timestamp`` (this
attempt's, which the signature covers) and ``webhook-signature`` (``v1,<base64>``, one per signing
secret, space-separated, during a rotation's grace period), made by the ``standardwebhooks`` package.

A 2xx answer delivers; anything else, a timeout or a network error is a failure of a class that the
metrics count, retried with exponential backoff and jitter (:meth:`RetrySchedule.delay_s`) until the
schedule's attempts are spent (about ``retry_for_s``), then a dead letter. Redirects are not followed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
import time

import httpx
import msgspec
from standardwebhooks import Webhook

from ..metrics import EVENTS_FAILURES, EVENTS_RECEIVER_SECONDS
from .event_endpoints import Endpoint
from .event_store import Delivery
from .times import rfc3339

__all__ = ("RetrySchedule", "attempt", "request_for")


@dataclasses.dataclass(frozen=True, slots=True)
class RetrySchedule:
    """Exponential backoff from ``first_s`` doubling up to ``max_s``, for about ``retry_for_s`` in all."""

    first_s: float = 5.0
    max_s: float = 3600.0
    retry_for_s: float = 86400.0

    @property
    def attempts(self) -> int:
        """How many attempts fit in ``retry_for_s`` (the first one included)."""
        total, n = 0.0, 1
        while total < self.retry_for_s:
            total += self.base_s(n)
            n += 1
        return n

    def base_s(self, failed: int) -> float:
        return float(min(self.first_s * 2 ** min(failed - 1, 40), self.max_s))

    def delay_s(self, failed: int) -> float:
        """The wait after the ``failed``-th failed attempt: the base, with +-25 % jitter so that the
        deliveries that failed together (a receiver down) do not all come back at the same moment."""
        return self.base_s(failed) * random.uniform(0.75, 1.25)  # noqa: S311 (jitter, not a secret)


class Body(msgspec.Struct):
    type: str
    timestamp: str
    data: msgspec.Raw


def request_for(endpoint: Endpoint, delivery: Delivery, now: dt.datetime) -> tuple[bytes, dict[str, str]]:
    body = msgspec.json.encode(Body(delivery.type, rfc3339(int(delivery.ms)), msgspec.Raw(delivery.data.encode())))
    text = body.decode()
    now_ms = int(now.timestamp() * 1000)
    signatures = " ".join(Webhook(secret).sign(delivery.id, now, text) for secret in endpoint.signing_secrets(now_ms))
    headers = {
        "content-type": "application/json",
        "user-agent": "otp-service-events",
        "webhook-id": delivery.id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signatures,
    }
    return body, headers


def _failure(response: httpx.Response) -> str:
    return f"status_{response.status_code // 100}xx"


async def attempt(http: httpx.AsyncClient, endpoint: Endpoint, delivery: Delivery, *, timeout_s: float) -> str:
    """Post one delivery; returns ``""`` when the receiver took it, else the failure's class."""
    body, headers = request_for(endpoint, delivery, dt.datetime.now(dt.UTC))
    started = time.monotonic()
    failure = ""
    try:
        response = await http.post(endpoint.url, content=body, headers=headers, timeout=timeout_s)
        if not response.is_success:
            failure = _failure(response)
    except httpx.TimeoutException:
        failure = "timeout"
    except httpx.ConnectError:
        failure = "connect"
    except httpx.HTTPError:
        failure = "network"
    EVENTS_RECEIVER_SECONDS.observe(time.monotonic() - started)
    if failure:
        EVENTS_FAILURES.labels(failure).inc()
    return failure
