"""The outbound events' Redis side: intake by a consumer group, per-subject order, the retry schedule.

The worker runs here on the test's loop against a real Redis and a real receiver on loopback.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from otp_service.domain.event_delivery import RetrySchedule
from otp_service.domain.event_endpoints import EndpointBook
from otp_service.domain.event_store import EventStore
from otp_service.domain.event_worker import EventWorker, WorkerConfig
from otp_service.domain.events import ALL_APPS, EventSink, EventType
from otp_service.domain.redis_store import RedisStore
from tests.events_receiver import Receiver

FAST = WorkerConfig(retry=RetrySchedule(0.05, 0.2, 30), timeout_s=2, claim_after_s=0.3, poll_s=0.02)


@pytest.fixture
def receiver() -> AsyncIterator[Receiver]:
    server = Receiver().up()
    yield server  # type: ignore[misc]
    server.down()


def data(vid: str, n: int) -> dict[str, object]:
    return {"id": vid, "app": "web", "to": "+34******200", "country": "ES", "n": n}


async def test_an_entry_read_by_a_consumer_that_died_is_claimed_and_delivered(
    redis_store: RedisStore, receiver: Receiver
) -> None:
    events, endpoints = EventStore(redis_store), EndpointBook(redis_store)
    await endpoints.create("web", receiver.url, [], True)
    await EventSink(redis_store).publish("web", EventType.CREATED, data("vf_1", 1))
    assert await events.ensure_group()
    assert [e.subject for e in await events.read("dead-consumer", count=10)] == ["vf_1"]  # never fanned out
    worker = EventWorker(events, endpoints, FAST)
    worker.start()
    try:
        await receiver.until(lambda: receiver.types_for("vf_1") == ["verification.created"], timeout_s=5)
    finally:
        await worker.close()


async def test_a_later_event_waits_for_an_earlier_one_a_dead_consumer_still_holds(
    redis_store: RedisStore, receiver: Receiver
) -> None:
    events, endpoints = EventStore(redis_store), EndpointBook(redis_store)
    await endpoints.create("web", receiver.url, [], True)
    sink = EventSink(redis_store)
    await sink.publish("web", EventType.CREATED, data("vf_1", 1))
    assert await events.ensure_group()
    await events.read("dead-consumer", count=1)  # the first event is stuck with a dead consumer
    await sink.publish("web", EventType.APPROVED, data("vf_1", 2))
    worker = EventWorker(events, endpoints, dataclasses.replace(FAST, claim_after_s=1.5))
    worker.start()
    try:
        await receiver.until(lambda: len(receiver.types_for("vf_1")) == 2, timeout_s=5)
    finally:
        await worker.close()
    assert receiver.types_for("vf_1") == ["verification.created", "verification.approved"]


async def test_events_for_every_app_reach_each_apps_endpoints(redis_store: RedisStore, receiver: Receiver) -> None:
    events, endpoints = EventStore(redis_store), EndpointBook(redis_store)
    await endpoints.create("web", receiver.url, [EventType.PREFIX_HELD], True)
    await endpoints.create("mobile", receiver.url, [EventType.PREFIX_HELD], True)
    sink = EventSink(redis_store)
    held = {"prefix": "+3460010", "country": "ES", "reason": "spike", "until": "2026-12-02T10:00:00Z"}
    await sink.publish(ALL_APPS, EventType.PREFIX_HELD, held)
    await sink.publish("web", EventType.CREATED, data("vf_1", 1))  # nobody subscribed to it
    worker = EventWorker(events, endpoints, FAST)
    worker.start()
    try:
        await receiver.until(lambda: len(receiver.accepted()) == 2, timeout_s=5)
        await asyncio.sleep(0.2)
    finally:
        await worker.close()
    assert [r.payload["type"] for r in receiver.accepted()] == ["prefix.held", "prefix.held"]
    assert receiver.accepted()[0].payload["data"] == held


async def test_nothing_is_published_for_an_app_without_endpoints(redis_store: RedisStore, redis: Redis) -> None:
    await EventSink(redis_store).publish("web", EventType.CREATED, data("vf_1", 1))
    assert await redis.xlen("otp:{events}:stream") == 0


async def test_a_publish_on_an_unavailable_store_is_lost_not_raised() -> None:
    dead = RedisStore(Redis(host="127.0.0.1", port=9, socket_connect_timeout=0.2), deadline_s=0.5)
    started = time.monotonic()
    try:
        await EventSink(dead).publish("web", EventType.CREATED, data("vf_1", 1))
    finally:
        await dead.redis.aclose()
    assert time.monotonic() - started < 2


def test_the_default_schedule_retries_for_about_a_day() -> None:
    schedule = RetrySchedule()
    waits = [schedule.base_s(n) for n in range(1, schedule.attempts)]
    assert 86400 <= sum(waits) < 86400 + 3600
    assert waits[:3] == [5, 10, 20] and max(waits) == 3600
    assert all(0.75 * w <= schedule.delay_s(n) <= 1.25 * w for n, w in enumerate(waits, start=1))
