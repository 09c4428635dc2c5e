"""The background worker that delivers outbound events; every replica runs one (unless turned off).

Each round it (0) reads this process's view of which apps have endpoints again when it is old
(``event_presence.py``: so the publishes seldom have to), (1) emits ``expired`` for the
verifications whose deadline passed (``event_sweep.lua``: whichever replica pops a deadline emits
it, once), (2) claims the stream entries that a dead consumer read and never fanned out, reads new
ones and fans each out to its endpoints' queues, and (3) leases due queue heads and posts them in
background tasks, at most ``concurrency`` at a time. Nothing here runs inside a request: a slow or
dead receiver holds one of these tasks for at most ``timeout_s`` and never a send or a check.

Delivery is at least once: a worker that dies between a receiver's 2xx and settling the delivery
leaves its lease to run out, and another worker posts the same ``webhook-id`` again.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import secrets
import socket
import time

import httpx
import structlog

from ..metrics import EVENTS_BACKLOG, EVENTS_DEAD_LETTERS, EVENTS_DELIVERED
from .errors import StoreUnavailable
from .event_delivery import RetrySchedule, attempt
from .event_endpoints import EndpointBook
from .event_presence import EndpointPresence
from .event_store import DeadLetter, EventStore, Lease, StreamEntry

__all__ = ("EventWorker", "WorkerConfig")

log = structlog.get_logger("otp.events")


@dataclasses.dataclass(frozen=True, slots=True)
class WorkerConfig:
    retry: RetrySchedule = dataclasses.field(default_factory=RetrySchedule)
    timeout_s: float = 10.0  # one delivery's whole request
    claim_after_s: float = 30.0  # a stream entry pending this long belongs to a dead consumer
    poll_s: float = 0.5  # the pause between rounds when there was nothing to do
    concurrency: int = 16  # deliveries in flight per worker
    batch: int = 50  # stream entries read per round
    expiry_grace_s: float = 2.0  # an approval racing its expiry clears the deadline before the sweep

    @property
    def lease_ms(self) -> int:
        """Longer than a delivery can take, so that a live worker keeps its head to itself."""
        return int((2 * self.timeout_s + 1.0) * 1000)


class EventWorker:
    def __init__(
        self, store: EventStore, endpoints: EndpointBook, config: WorkerConfig, presence: EndpointPresence | None = None
    ) -> None:
        self.store = store
        self.presence = presence  # kept fresh here, so that requests seldom read it themselves
        self.endpoints = endpoints
        self.config = config
        self.consumer = f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"
        self._token = secrets.token_hex(8)
        self._http = httpx.AsyncClient(follow_redirects=False, trust_env=False)
        self._inflight: set[asyncio.Task[None]] = set()
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._group_ready = False

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while not self._stopping.is_set():
            busy = False
            try:
                busy = await self.round()
            except StoreUnavailable:
                self._group_ready = False  # a flushed or failed-over Redis may have lost the group
                log.warning("events.store_unavailable")
            except Exception:  # a bug: say so and keep delivering the rest
                log.exception("events.round_failed")
            if not busy:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), self.config.poll_s)

    async def round(self) -> bool:
        """One round of sweep, intake and leasing; True when there was work (the next comes at once)."""
        config = self.config
        if self.presence is not None:
            await self.presence.keep_fresh()
        work = await self.store.sweep(grace_ms=int(config.expiry_grace_s * 1000)) > 0
        if not self._group_ready:
            self._group_ready = await self.store.ensure_group()
        entries: list[StreamEntry] = []
        if self._group_ready:
            claim_ms = int(config.claim_after_s * 1000)
            entries = await self.store.claim(self.consumer, idle_ms=claim_ms, count=config.batch)
            entries += await self.store.read(self.consumer, count=config.batch)
        for entry in sorted(entries, key=lambda e: tuple(int(p) for p in e.id.split("-"))):
            await self.store.fanout(entry)
        work = work or bool(entries)
        free = config.concurrency - len(self._inflight)
        if free > 0:
            leases = await self.store.lease(count=free, lease_ms=config.lease_ms, token=self._token)
            for lease in leases:
                task = asyncio.get_running_loop().create_task(self._deliver(lease))
                self._inflight.add(task)
                task.add_done_callback(self._inflight.discard)
            work = work or bool(leases)
        stream, queues = await self.store.backlog()
        EVENTS_BACKLOG.labels("stream").set(stream)
        EVENTS_BACKLOG.labels("queues").set(queues)
        return work

    async def _deliver(self, lease: Lease) -> None:
        try:
            await self._deliver_one(lease)
        except StoreUnavailable:  # the lease runs out and the delivery is tried again
            log.warning("events.settle_failed", queue_endpoint=lease.endpoint_id)
        except Exception:
            log.exception("events.delivery_failed", queue_endpoint=lease.endpoint_id)

    async def _deliver_one(self, lease: Lease) -> None:
        delivery = lease.delivery
        endpoint = await self.endpoints.get(lease.endpoint_id)
        if endpoint is None or not endpoint.enabled:  # deleted or turned off since: dropped
            await self.store.settle(lease, "done", token=self._token)
            return
        failure = await attempt(self._http, endpoint, delivery, timeout_s=self.config.timeout_s)
        if not failure:
            EVENTS_DELIVERED.inc()
            await self.store.settle(lease, "done", token=self._token)
            return
        failed = lease.attempts + 1
        retry = self.config.retry
        if failed < retry.attempts:
            delay_ms = int(retry.delay_s(failed) * 1000)
            await self.store.settle(lease, "retry", token=self._token, delay_ms=delay_ms)
            return
        letter = DeadLetter(
            queue=lease.queue,
            delivery=lease.member,
            endpoint_id=endpoint.id,
            event_id=delivery.id,
            type=delivery.type,
            subject=delivery.subject,
            attempts=failed,
            last_failure=failure,
            dead_ms=int(time.time() * 1000),
        )
        if await self.store.settle(lease, "dead", token=self._token, dead=letter, app=endpoint.app):
            EVENTS_DEAD_LETTERS.inc()
            log.warning("events.dead_letter", app=endpoint.app, endpoint=endpoint.id, type=delivery.type)

    async def drain(self, timeout_s: float = 10.0) -> None:
        """Wait for the deliveries in flight (tests)."""
        if self._inflight:
            await asyncio.wait(set(self._inflight), timeout=timeout_s)

    async def close(self, grace_s: float = 2.0) -> None:
        """At shutdown, before the Redis client closes: no new round, deliveries in flight get
        ``grace_s``, then stop (their leases run out and another replica delivers them again)."""
        self._stopping.set()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
        if self._inflight:
            _, late = await asyncio.wait(set(self._inflight), timeout=grace_s)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        await self._http.aclose()
