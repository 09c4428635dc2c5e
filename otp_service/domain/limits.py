"""Send-side rate limits: resend cooldown, per-number, per-client and per-IP windows.

The per-number part (cooldown, in-flight lock, window) is one script on the number's slot; the client
and IP windows live on their own slots, so they are reserved next (both at once) and everything is
refunded if either refuses. Each reservation is atomic, so no limit can be exceeded by concurrent requests; a
refused request briefly holds a reservation it then gives back, which can only make a concurrent
request see the limit a moment early, never late. The algorithm (sliding-window log) is explained in
``windows.py``.

Everything one request reserves shares one token, so giving it back is one idempotent step that is
safe before or after the reservation itself lands (``redis_store``): a request that fails because
Redis did not answer gives it back in the background (``releases.py``) and costs the user nothing.
"""

from __future__ import annotations

import asyncio
import math
import uuid
from collections.abc import Coroutine
from typing import Any

from ..metrics import RATE_LIMITED
from .errors import RateLimited, StoreUnavailable
from .policy import LiveSettings
from .releases import Releases
from .windows import Begin, BeginOutcome, LimitWindows

__all__ = ("SendLimiter", "SendReservation")

_MESSAGES = {
    "cooldown": "Wait before requesting another code for this number.",
    "busy": "A code is being sent to this number right now.",
    "limit": "Too many codes were requested for this number.",
    "client": "This API client has requested too many codes.",
    "ip": "Too many codes were requested from this address.",
}
_LIMIT_LABEL = {
    BeginOutcome.COOLDOWN: "resend_cooldown",
    BeginOutcome.BUSY: "send_in_flight",
    BeginOutcome.LIMIT: "send_limit",
}


def _seconds(ms: int) -> int:
    return max(1, math.ceil(ms / 1000))


class SendReservation:
    __slots__ = ("begin", "client", "ip", "phone", "token")

    def __init__(self, phone: str, client: str, ip: str | None, token: str, begin: Begin) -> None:
        self.phone, self.client, self.ip, self.token, self.begin = phone, client, ip, token, begin


class SendLimiter:
    def __init__(self, windows: LimitWindows, *, lock_ms: int, releases: Releases | None = None) -> None:
        self._windows = windows
        self._lock_ms = lock_ms  # longest a send may hold the number's in-flight lock
        self.releases = releases or Releases()

    async def reserve(self, phone: str, client: str, ip: str | None, settings: LiveSettings) -> SendReservation:
        """``ip`` ``None``: a backend call with no end-user address, not limited per IP (``end_user.py``)."""
        token = uuid.uuid4().hex
        try:
            begin = await self._windows.begin_send(
                phone,
                limit=settings.send_limit.count,
                window_ms=settings.send_limit.window_seconds * 1000,
                token=token,
                lock_ms=self._lock_ms,
                app=client,
            )
        except BaseException:  # no answer: the script may still run when Redis wakes up
            self.releases.later("send", lambda: self._windows.abort_send(phone, token))
            raise
        if begin.outcome is not BeginOutcome.OK:
            RATE_LIMITED.labels(_LIMIT_LABEL[begin.outcome]).inc()
            raise RateLimited(
                _MESSAGES[begin.outcome], limit=_LIMIT_LABEL[begin.outcome], retry_after_s=_seconds(begin.wait_ms)
            )
        reservation = SendReservation(phone, client, ip, token, begin)
        windows = [("client", client, settings.client_limit)]
        if ip is not None:
            windows.append(("ip", ip, settings.ip_limit))
        calls = [
            self._windows.reserve(kind, ident, limit=w.count, window_ms=w.window_seconds * 1000, token=token)
            for kind, ident, w in windows
        ]
        try:  # both at once: they are on different slots, and neither depends on the other
            waits = await self._each(calls)
        except BaseException:  # cancelled while reserving: give back whatever was taken
            self.releases.later("send", lambda: self._give_back(reservation))
            raise
        if any(waits):  # a refusal (milliseconds to wait) or an error: give everything back
            errors = [wait for wait in waits if isinstance(wait, BaseException)]
            # Refunding a window that refused removes nothing.
            await self.release(reservation, store_down=any(isinstance(e, StoreUnavailable) for e in errors))
            if errors:
                raise errors[0]
            kind, wait = next((k, w) for (k, _, _), w in zip(windows, waits, strict=True) if isinstance(w, int) and w)
            RATE_LIMITED.labels(f"{kind}_limit").inc()
            raise RateLimited(_MESSAGES[kind], limit=f"{kind}_limit", retry_after_s=_seconds(wait))
        return reservation

    @staticmethod
    async def _each(calls: list[Coroutine[Any, Any, int]]) -> list[int | BaseException]:
        """Every call's answer or error. One call (a backend's send: no end-user address) is awaited
        as it is: gather would wrap it in a task of its own for nothing."""
        if len(calls) > 1:
            return await asyncio.gather(*calls, return_exceptions=True)
        try:
            return [await calls[0]]
        except Exception as exc:  # as gather(return_exceptions=True) answers it
            return [exc]

    async def release(self, reservation: SendReservation, *, store_down: bool = False) -> None:
        """Give every reservation back: nothing was delivered, so the user's quota is untouched.
        At once when Redis is up; in the background when it is down (``store_down``) or fails."""
        await self.releases.give_back("send", lambda: self._give_back(reservation), store_down=store_down)

    async def _give_back(self, reservation: SendReservation) -> None:
        r = reservation
        ip = () if r.ip is None else (self._windows.refund("ip", r.ip, r.token),)
        await asyncio.gather(
            self._windows.refund("client", r.client, r.token), *ip, self._windows.abort_send(r.phone, r.token)
        )
