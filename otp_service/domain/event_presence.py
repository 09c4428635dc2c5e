"""Which apps have an event endpoint, as this process last read it, so that a publish for an app
without one (the common case) skips the events slot instead of a script call that does nothing.

The view (``event_presence.lua``: one hash, and a count per app) is read at most once per
``max_age_s`` (``OTP_SETTINGS_CACHE_S``, at most 1 s) per process: by the events worker's round, or
by the publish that finds it old while the worker is off; publishes meanwhile use the view they
have. So an endpoint created on another replica receives the events that happen after it exists
(within that period); one created or deleted through this process counts at once (``EndpointBook``
refreshes the view). A process that never read the view publishes as if every app had endpoints,
and a read that fails keeps the last view.

Skipping must not leave a wrong ``verification.expired`` behind. Two cases:

* A deadline set while an earlier endpoint existed, whose approval was skipped after that endpoint
  was deleted. The apps hash keeps each app's epoch (when its endpoints last went from none to
  some, ``endpoint_add.lua``), each deadline its set time, and ``event_sweep.lua`` drops a deadline
  set before its app's epoch, or whose app has no endpoint any more.
* A deadline set by a replica that knew of a new endpoint, whose approval a replica with an older
  view skipped. The sink keeps what it skipped that would have cleared a deadline until the next
  read; when that read shows the app with endpoints since before the skip, the listener
  (``EventSink``) publishes those finishes after all, in their order, as if the view had been fresh.
"""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable, Mapping

import structlog

from .errors import StoreUnavailable
from .redis_store import RedisStore, as_text

__all__ = ("ALL_APPS", "EndpointPresence", "View")

log = structlog.get_logger("otp.events")

ALL_APPS = "*"  # an event for every app with an endpoint (the fraud guard's prefix holds are global)


class View:
    """One read: each app with endpoints and its epoch (Redis ms), and how to turn this process's
    wall clock into Redis' (``offset_ms``, measured at the read)."""

    __slots__ = ("apps", "offset_ms", "started")

    def __init__(self, apps: Mapping[str, int], offset_ms: int, started: float) -> None:
        self.apps = apps
        self.offset_ms = offset_ms
        self.started = started  # time.monotonic() when the read was sent


Listener = Callable[[View], Awaitable[None]]


class EndpointPresence:
    def __init__(self, store: RedisStore, *, max_age_s: float) -> None:
        self._store = store
        self._max_age_s = max_age_s
        self._view: View | None = None
        self._read_at = -math.inf
        self._reading = False
        self._sent = 0  # reads sent, and the number of the one whose view is held
        self._held = 0
        self._listeners: list[Listener] = []

    def on_read(self, listener: Listener) -> None:
        """``listener(view)`` after each read that replaced a view (the first had nothing to catch up on)."""
        self._listeners.append(listener)

    async def has_endpoints(self, app: str) -> bool:
        await self.keep_fresh()
        view = self._view
        if view is None:
            return True
        return bool(view.apps) if app == ALL_APPS else app in view.apps

    async def keep_fresh(self) -> None:
        """Read again when the view is older than ``max_age_s`` and no read is under way."""
        if not self._reading and time.monotonic() - self._read_at >= self._max_age_s:
            await self.refresh()

    async def refresh(self) -> None:
        self._sent += 1
        number, self._reading = self._sent, True
        started, wall_ms = time.monotonic(), time.time() * 1000
        keys = self._store.keys
        try:
            raw = await self._store.script(
                self._store.scripts.event_presence,
                [keys.events("apps"), keys.events("endpoints")],
                [keys.events("app:")],
            )
        except StoreUnavailable:
            self._read_at = time.monotonic()  # the last view stays; the next read after max_age_s
            log.warning("events.presence_unread")
            return
        finally:
            self._reading = False
        if number < self._held:  # a later read (an endpoint changed here) answered first
            return
        midpoint_ms = (wall_ms + time.time() * 1000) / 2
        apps = {as_text(raw[i]): int(raw[i + 1]) for i in range(1, len(raw), 2)}
        before, view = self._view, View(apps, int(raw[0]) - int(midpoint_ms), started)
        self._view, self._held, self._read_at = view, number, time.monotonic()
        if before is None:  # nothing was skipped without a view
            return
        for listener in self._listeners:
            await listener(view)
