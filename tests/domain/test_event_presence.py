"""Each process's view of which apps have event endpoints (``EndpointPresence``), and what a sink that
skips on it still owes: a real Redis, two sinks standing for two replicas, and no worker."""

from __future__ import annotations

import time

import msgspec
from redis.asyncio import Redis

from otp_service.domain.event_endpoints import Endpoint, EndpointBook
from otp_service.domain.event_presence import EndpointPresence
from otp_service.domain.events import ALL_APPS, EventSink, EventType
from otp_service.domain.models import Mode, Status, Verification
from otp_service.domain.redis_store import RedisStore

URL = "http://127.0.0.1:9/hooks"
NUMBER = "+34600100200"
LONG = 3600.0  # a cache period the test ends itself, with refresh()


def verification(vid: str) -> Verification:
    now = int(time.time() * 1000)
    return Verification(
        id=vid,
        to=NUMBER,
        status=Status.PENDING,
        mode=Mode.LOCAL,
        provider="gatum",
        code_length=6,
        attempts_left=5,
        max_attempts=5,
        created_ms=now,
        expires_ms=now + 600_000,
        resend_ms=now + 30_000,
        client="web",
    )


async def stream_types(redis: Redis, vid: str) -> list[str]:
    entries = await redis.xrange("otp:{events}:stream")
    return [fields[b"type"].decode() for _, fields in entries if fields[b"subject"] == vid.encode()]


async def test_a_process_knows_which_apps_have_endpoints_once_it_read_and_at_once_after_its_own_change(
    redis_store: RedisStore,
) -> None:
    presence = EndpointPresence(redis_store, max_age_s=LONG)
    book = EndpointBook(redis_store, presence=presence)
    assert not await presence.has_endpoints("web") and not await presence.has_endpoints(ALL_APPS)
    created = await book.create("web", URL, [], True)
    assert await presence.has_endpoints("web") and await presence.has_endpoints(ALL_APPS)
    assert not await presence.has_endpoints("mobile")
    await book.delete("web", created.id)
    assert not await presence.has_endpoints("web")


async def test_another_process_sees_a_new_endpoint_at_its_next_read_not_before(redis_store: RedisStore) -> None:
    here, there = EndpointPresence(redis_store, max_age_s=LONG), EndpointPresence(redis_store, max_age_s=LONG)
    assert not await there.has_endpoints("web")
    await EndpointBook(redis_store, presence=here).create("web", URL, [], True)
    assert not await there.has_endpoints("web")  # its cache period has not ended
    await there.refresh()
    assert await there.has_endpoints("web")


async def test_a_process_that_cannot_read_keeps_its_view_and_one_that_never_read_publishes() -> None:
    dead = RedisStore(Redis(host="127.0.0.1", port=9, socket_connect_timeout=0.2), deadline_s=0.5)
    try:
        presence = EndpointPresence(dead, max_age_s=0.0)
        assert await presence.has_endpoints("web")  # never read: as if every app had endpoints
    finally:
        await dead.redis.aclose()


async def test_a_failed_read_keeps_the_last_view(redis_store: RedisStore, redis: Redis) -> None:
    presence = EndpointPresence(redis_store, max_age_s=0.0)
    await EndpointBook(redis_store).create("web", URL, [], True)
    assert await presence.has_endpoints("web")
    await redis.set("otp:{events}:apps", "not a hash")  # every read of the view fails from now on
    assert await presence.has_endpoints("web") and not await presence.has_endpoints("mobile")


async def test_endpoints_an_earlier_release_wrote_count_with_every_deadline_valid(
    redis_store: RedisStore, redis: Redis
) -> None:
    legacy = Endpoint(id="ep_old", app="web", url=URL, types=[], secret="whsec_x", created_ms=1)
    await redis.hset("otp:{events}:endpoints", "ep_old", msgspec.json.encode(legacy))
    await redis.sadd("otp:{events}:app:web", "ep_old")  # and no apps hash: written before it existed
    assert await EndpointPresence(redis_store, max_age_s=LONG).has_endpoints("web")
    assert await redis.hget("otp:{events}:apps", "web") == b"0"


async def test_without_an_endpoint_a_sink_with_a_view_leaves_no_key(redis_store: RedisStore, redis: Redis) -> None:
    sink = EventSink(redis_store, presence=EndpointPresence(redis_store, max_age_s=LONG))
    await sink.verification_sent(verification("vf_1"), created=True)
    await sink.finished(EventType.APPROVED, vid="vf_1", e164=NUMBER, app="web")
    assert await redis.keys("otp:{events}:*") == []


async def test_an_approval_skipped_by_a_process_that_had_not_seen_a_new_endpoint_is_published_at_its_next_read(
    redis_store: RedisStore, redis: Redis
) -> None:
    fresh, stale = EndpointPresence(redis_store, max_age_s=LONG), EndpointPresence(redis_store, max_age_s=LONG)
    sender, checker = EventSink(redis_store, presence=fresh), EventSink(redis_store, presence=stale)
    assert not await stale.has_endpoints("web")
    await EndpointBook(redis_store, presence=fresh).create("web", URL, [], True)
    await sender.verification_sent(verification("vf_1"), created=True)
    await checker.finished(EventType.APPROVED, vid="vf_1", e164=NUMBER, app="web")
    assert await redis.zscore("otp:{events}:deadlines", "vf_1") is not None  # skipped: no endpoint, it thought
    await stale.refresh()  # its cache period ends
    assert await redis.zscore("otp:{events}:deadlines", "vf_1") is None
    assert await stream_types(redis, "vf_1") == [
        "verification.created",
        "verification.delivery_updated",
        "verification.approved",
    ]


async def test_an_approval_skipped_before_an_endpoint_existed_is_not_published_to_it(
    redis_store: RedisStore, redis: Redis
) -> None:
    presence = EndpointPresence(redis_store, max_age_s=LONG)
    sink = EventSink(redis_store, presence=presence)
    await sink.finished(EventType.APPROVED, vid="vf_1", e164=NUMBER, app="web")  # reads: no endpoint
    time.sleep(0.2)  # noqa: ASYNC251  (the endpoint comes clearly later, on Redis' clock too)
    await EndpointBook(redis_store, presence=presence).create("web", URL, [], True)
    assert await stream_types(redis, "vf_1") == []
