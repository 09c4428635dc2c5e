"""The conversion guard's holds and releases as outbound events (``prefix.held`` / ``prefix.released``).

Holds are global (the guard counts every app's sends), so each goes to every app with an endpoint for
these types. The payload names the prefix and its country, never a number: a prefix is the first
digits of many numbers, which is what an app's fraud tooling needs to see.
"""

from __future__ import annotations

import time

from .conversion import Hold
from .events import ALL_APPS, EventSink, EventType
from .times import rfc3339

__all__ = ("GuardEvents",)


class GuardEvents:
    """A ``GuardObserver`` that publishes; ``EventSink.publish`` never raises."""

    def __init__(self, events: EventSink) -> None:
        self.events = events

    async def held(self, hold: Hold) -> None:
        until = rfc3339(int((time.time() + hold.ends_in_s) * 1000))
        data = {
            "prefix": hold.prefix,
            "country": hold.country,
            "reason": "low_conversion",
            "sent": hold.sent,
            "approved": hold.approved,
            "until": until,
        }
        await self.events.publish(ALL_APPS, EventType.PREFIX_HELD, data)

    async def released(self, prefix: str, country: str) -> None:
        data = {"prefix": prefix, "country": country, "reason": "released_by_admin", "until": None}
        await self.events.publish(ALL_APPS, EventType.PREFIX_RELEASED, data)
