"""The outbound events in Redis: a stream read by a consumer group, then one queue per (endpoint, subject).

Every key is on the events slot (``Keys.events``), so each script below runs on one Redis Cluster slot:

* ``stream``: what the use cases publish (``events.py``). Every replica's worker reads it in the
  consumer group ``deliverers``; an entry read by a consumer that died before fanning it out stays
  pending and is claimed by another (``XAUTOCLAIM``) after ``claim_after_s``.
* ``q:<endpoint>:<subject>``: the deliveries of one subject (a verification, a prefix) to one endpoint,
  ordered by their stream id; only the head is ever delivered, so a later event never overtakes an
  earlier one that is still retrying. ``due`` schedules the queues (score: when the head may be tried),
  ``leases`` says which worker holds a head (a worker that dies holding one only delays it until the
  lease runs out), ``attempts`` counts the head's failed attempts.
* ``deadlines`` / ``expiring``: when each verification expires, and its ``expired`` event's data
  (and when that deadline was set: ``apps`` holds when each app's endpoints last went from none to
  some, and a deadline set before that is dropped, ``event_presence.py``).
* ``dead:<app>``: the deliveries that failed for the whole retry period, newest first, until replayed.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import msgspec

from .errors import StoreUnavailable
from .events import EventType
from .redis_store import RedisStore, as_text

__all__ = ("DeadLetter", "Delivery", "EventStore", "Lease", "StreamEntry")

GROUP = "deliverers"
MAX_DEAD_LETTERS = 10_000


class Delivery(msgspec.Struct, kw_only=True):
    """One event for one endpoint, as queued (``event_fanout.lua`` writes it)."""

    id: str  # the webhook-id: the same on every attempt, and on every endpoint
    app: str
    type: str
    subject: str
    data: str  # the payload's data, JSON
    ms: str  # when it was published (the stream id's time, Redis' clock)


class DeadLetter(msgspec.Struct, kw_only=True):
    queue: str
    delivery: str
    endpoint_id: str
    event_id: str
    type: str
    subject: str
    attempts: int
    last_failure: str
    dead_ms: int


@dataclasses.dataclass(frozen=True, slots=True)
class StreamEntry:
    id: str
    app: str
    type: str
    subject: str
    data: str


@dataclasses.dataclass(frozen=True, slots=True)
class Lease:
    queue: str  # "<endpoint id>:<subject>"
    member: str  # the queued delivery as stored (order prefix, then JSON)
    attempts: int

    @property
    def endpoint_id(self) -> str:
        return self.queue.split(":", 1)[0]

    @property
    def delivery(self) -> Delivery:
        return msgspec.json.decode(self.member.split("|", 1)[1], type=Delivery)


def _entry(raw: Any) -> StreamEntry:
    entry_id, fields = raw
    f = {as_text(k): as_text(v) for k, v in fields.items()}
    return StreamEntry(as_text(entry_id), f.get("app", ""), f.get("type", ""), f.get("subject", ""), f.get("data", ""))


class EventStore:
    def __init__(self, store: RedisStore) -> None:
        self._store = store
        keys = store.keys
        self.stream = keys.events("stream")
        self.due = keys.events("due")
        self.attempts = keys.events("attempts")
        self.leases = keys.events("leases")
        self.prefix = keys.events()

    def _dead(self, app: str) -> str:
        return self._store.keys.events(f"dead:{app}")

    async def ensure_group(self) -> bool:
        """The consumer group, made by whichever replica comes first, once the stream exists (the
        first publish makes it; a service whose apps have no endpoint leaves no key behind). It reads
        from the stream's start, so entries added before it are delivered too. False: no stream yet."""
        redis = self._store.redis
        if not await self._store.run(lambda: redis.exists(self.stream)):
            return False
        try:
            await self._store.run(lambda: redis.xgroup_create(self.stream, GROUP, id="0"))
        except StoreUnavailable as exc:
            if "BUSYGROUP" not in str(exc.__cause__):  # BUSYGROUP: it exists already
                raise
        return True

    async def sweep(self, *, grace_ms: int, count: int = 100) -> int:
        keys = [self._store.keys.events("deadlines"), self._store.keys.events("expiring"), self.stream]
        keys.append(self._store.keys.events("apps"))
        args = [grace_ms, count, str(EventType.EXPIRED), self._store.keys.events("app:")]
        return int(await self._store.script(self._store.scripts.event_sweep, keys, args))

    async def claim(self, consumer: str, *, idle_ms: int, count: int) -> list[StreamEntry]:
        """Entries another consumer read and did not fan out for ``idle_ms`` (it died)."""
        redis = self._store.redis
        raw = await self._store.run(
            lambda: redis.xautoclaim(self.stream, GROUP, consumer, idle_ms, start_id="0-0", count=count)
        )
        return [_entry(item) for item in raw[1] if item and item[1]]

    async def read(self, consumer: str, *, count: int) -> list[StreamEntry]:
        redis = self._store.redis
        raw = await self._store.run(lambda: redis.xreadgroup(GROUP, consumer, {self.stream: ">"}, count=count))
        if isinstance(raw, dict):  # RESP3
            items = next(iter(raw.values()), [[]])[0] if raw else []
        else:
            items = raw[0][1] if raw else []
        return [_entry(item) for item in items]

    async def fanout(self, entry: StreamEntry) -> int:
        endpoints, app = self._store.keys.events("endpoints"), self._store.keys.events(f"app:{entry.app}")
        keys = [self.stream, endpoints, app, self.due]
        args = [GROUP, entry.id, entry.app, entry.type, entry.subject, entry.data, self.prefix]
        return int(await self._store.script(self._store.scripts.event_fanout, keys, args))

    async def lease(self, *, count: int, lease_ms: int, token: str, hold_ms: int = 500) -> list[Lease]:
        keys = [self.due, self.stream, self.attempts, self.leases]
        args = [GROUP, count, lease_ms, token, self.prefix, hold_ms]
        raw = await self._store.script(self._store.scripts.event_lease, keys, args)
        return [Lease(as_text(q), as_text(m), int(n)) for q, m, n in raw]

    async def settle(
        self,
        lease: Lease,
        outcome: str,
        *,
        token: str,
        delay_ms: int = 0,
        dead: DeadLetter | None = None,
        app: str = "",
    ) -> bool:
        """``app``: the endpoint's app, whose dead-letter list takes a ``dead`` delivery."""
        letter = msgspec.json.encode(dead).decode() if dead is not None else ""
        keys = [self.due, self.attempts, self.leases, self._dead(app)]
        args = [lease.queue, lease.member, token, outcome, delay_ms, letter, self.prefix, MAX_DEAD_LETTERS]
        return bool(await self._store.script(self._store.scripts.event_settle, keys, args))

    async def dead_letters(self, app: str, *, limit: int = 100) -> list[DeadLetter]:
        key = self._dead(app)
        raw = await self._store.run(lambda: self._store.redis.lrange(key, 0, limit - 1))
        return [msgspec.json.decode(item, type=DeadLetter) for item in raw]

    async def replay(self, app: str, *, limit: int = MAX_DEAD_LETTERS) -> int:
        keys = [self._dead(app), self.due]
        return int(await self._store.script(self._store.scripts.event_replay, keys, [self.prefix, limit]))

    async def backlog(self) -> tuple[int, int]:
        """(stream entries not yet fanned out, queues with a delivery waiting)."""
        redis = self._store.redis
        stream = await self._store.run(lambda: redis.xlen(self.stream))
        queues = await self._store.run(lambda: redis.zcard(self.due))
        return int(stream), int(queues)
