"""Outbound events: their types, their payloads, and the one call the use cases make to publish them.

The use cases publish after the state change they report (send, check, cancel, receipt) with one
script call each (``event_publish.lua``), on the events slot, never on the number's slot: a Redis
Cluster cannot run one script on both. If the process dies between the state change and that call,
the event is lost (the state change is not); the window is one round trip, and the alternative (an
outbox on every number's slot, swept by every replica) would cost every send and check a write. The
one event nobody's request produces, ``verification.expired``, is emitted by the service itself: the
send records the verification's deadline on the events slot, and ``event_sweep.lua`` moves a due
deadline into the stream in the same script, so exactly one replica emits it. Approval, exhaustion
and cancellation clear the deadline in their own publish call.

An app without an endpoint (most) costs no call at all: the sink asks ``EndpointPresence``, this
process's view of which apps have endpoints, read at most once per ``OTP_SETTINGS_CACHE_S``. So an
endpoint receives the events that happen after it exists, within that period (1 s at most) when it
was created through another replica; ``event_presence.py`` says how a skipped approval still never
lets a later endpoint hear ``expired`` for it.

A publish that fails (Redis unavailable) is logged and counted, never raised: the request's answer
is about the verification, which did change.

Payloads carry ids, the masked number, its country, the app and times (RFC 3339, ``times.py``);
never a code, a hash or a secret.
"""

from __future__ import annotations

import collections
import dataclasses
import enum
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import msgspec
import structlog

from ..metrics import EVENTS_PUBLISHED
from .errors import StoreUnavailable
from .event_presence import ALL_APPS, EndpointPresence, View
from .models import Verification
from .phone import mask, parse_phone
from .redis_store import RedisStore
from .times import rfc3339

__all__ = ("ALL_APPS", "EventSink", "EventType")

log = structlog.get_logger("otp.events")

MAX_SKIPPED = 10_000  # finishes skipped since the last read of the view (bounded while reads fail)
SKEW_SLACK_MS = 50  # a finish this close before an endpoint's creation is published too (clock error)


class EventType(enum.StrEnum):
    CREATED = "verification.created"
    DELIVERY_UPDATED = "verification.delivery_updated"
    APPROVED = "verification.approved"
    MAX_ATTEMPTS_REACHED = "verification.max_attempts_reached"
    EXPIRED = "verification.expired"
    CANCELED = "verification.canceled"
    PREFIX_HELD = "prefix.held"
    PREFIX_RELEASED = "prefix.released"


_FINAL = {
    EventType.APPROVED: "approved",
    EventType.MAX_ATTEMPTS_REACHED: "max_attempts_reached",
    EventType.CANCELED: "canceled",
}


def _country(e164: str) -> str:
    return parse_phone(e164).region


def _base(vid: str, e164: str, app: str) -> dict[str, Any]:
    return {"id": vid, "app": app, "to": mask(e164), "country": _country(e164)}


Events = Sequence[tuple[EventType, str, Mapping[str, Any]]]
Deadline = tuple[str, str, int, Mapping[str, Any]]
# A publish's events and deadline, made only when it is sent: most apps have no endpoint, and the
# payloads (the number's country, masked, and times) were then made for nothing.
Made = Callable[[], tuple[Events, Deadline]]


@dataclasses.dataclass(frozen=True, slots=True)
class _Skipped:
    """A publish that would have cleared a deadline, skipped on a view without the app's endpoints."""

    at: float  # time.monotonic()
    wall_ms: float
    app: str
    made: Made


class EventSink:
    """Publishes events for the use cases; a sink without a store (``EventSink()``) publishes nothing,
    one without ``presence`` publishes every event (the script drops those of apps without endpoints)."""

    def __init__(self, store: RedisStore | None = None, *, presence: EndpointPresence | None = None) -> None:
        self._store = store
        self._presence = presence
        self._skipped: collections.deque[_Skipped] = collections.deque(maxlen=MAX_SKIPPED)
        if presence is not None:
            presence.on_read(self._caught_up)

    async def publish(self, app: str, type: EventType, data: Mapping[str, Any], *, subject: str | None = None) -> None:
        """One event for ``app`` (``ALL_APPS``: every app with an endpoint). Events of one ``subject``
        reach each endpoint in the order they were published; it defaults to ``data["id"]`` (a
        verification) or ``"prefix:" + data["prefix"]`` (the fraud guard's holds)."""
        if subject is None:
            subject = str(data["id"]) if "id" in data else f"prefix:{data['prefix']}"
        await self._publish(app, [(type, subject, data)])

    async def verification_sent(self, verification: Verification, *, created: bool) -> None:
        """A send (or resend) that a provider took: ``created`` for a new verification, then its
        delivery state; the expiry deadline is (re)set to the verification's."""
        v = verification

        def made() -> tuple[Events, Deadline]:
            base = _base(v.id, v.to, v.client)
            events: list[tuple[EventType, str, Mapping[str, Any]]] = []
            if created:
                created_data = {
                    **base,
                    "status": "pending",
                    "channel": v.channel,
                    "created_at": rfc3339(v.created_ms),
                    "expires_at": rfc3339(v.expires_ms),
                }
                events.append((EventType.CREATED, v.id, created_data))
            events.append((EventType.DELIVERY_UPDATED, v.id, self._delivery(v)))
            expired = {**base, "status": "expired", "expires_at": rfc3339(v.expires_ms)}
            return events, ("set", v.id, v.expires_ms, expired)

        await self._publish_made(v.client, made, clears=False)

    async def delivery_updated(self, verification: Verification) -> None:
        """A delivery receipt moved the verification's delivery state."""
        v = verification
        await self._publish(v.client, [(EventType.DELIVERY_UPDATED, v.id, self._delivery(v))])

    async def finished(self, type: EventType, *, vid: str, e164: str, app: str) -> None:
        """Approved, out of attempts or canceled: the verification will not expire any more."""

        def made() -> tuple[Events, Deadline]:
            data = {**_base(vid, e164, app), "status": _FINAL[type]}
            return [(type, vid, data)], ("clear", vid, 0, {})

        await self._publish_made(app, made, clears=True)

    @staticmethod
    def _delivery(v: Verification) -> dict[str, Any]:
        return {
            **_base(v.id, v.to, v.client),
            "delivery_status": str(v.delivery_status),
            "provider": v.delivery_provider or v.provider,
            "channel": v.channel,
        }

    async def _publish(self, app: str, events: Events, *, deadline: Deadline = ("", "", 0, {})) -> None:
        await self._publish_made(app, lambda: (events, deadline), clears=deadline[0] == "clear")

    async def _publish_made(self, app: str, made: Made, *, clears: bool) -> None:
        if self._store is None:
            return
        if self._presence is not None and not await self._presence.has_endpoints(app):
            if clears:
                self._skipped.append(_Skipped(time.monotonic(), time.time() * 1000, app, made))
            return
        events, deadline = made()
        await self._send(self._store, app, events, deadline)

    async def _caught_up(self, view: View) -> None:
        """After a read of the view: the finishes skipped before it whose app had endpoints by then
        are published now (another replica may have set their deadline, see ``event_presence.py``)."""
        store = self._store
        while self._skipped and self._skipped[0].at < view.started:
            skipped = self._skipped.popleft()
            epoch = view.apps.get(skipped.app)
            if store is not None and epoch is not None and skipped.wall_ms + view.offset_ms >= epoch - SKEW_SLACK_MS:
                events, deadline = skipped.made()
                await self._send(store, skipped.app, events, deadline)

    @staticmethod
    async def _send(store: RedisStore, app: str, events: Events, deadline: Deadline) -> None:
        keys = store.keys
        endpoints = keys.events("endpoints") if app == ALL_APPS else keys.events(f"app:{app}")
        action, vid, deadline_ms, expired = deadline
        args: list[str | int] = [app, action, vid, deadline_ms, msgspec.json.encode(expired).decode()]
        for type, subject, data in events:
            args += [str(type), subject, msgspec.json.encode(data).decode()]
        script_keys = [keys.events("stream"), endpoints, keys.events("deadlines"), keys.events("expiring")]
        try:
            added = await store.script(store.scripts.event_publish, script_keys, args)
        except StoreUnavailable:
            EVENTS_PUBLISHED.labels("lost").inc(len(events))
            log.error("events.lost", events=[str(t) for t, _, _ in events])
            return
        EVENTS_PUBLISHED.labels("published").inc(int(added))
