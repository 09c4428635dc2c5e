"""An end user's failure slot (``take_source``) follows the token rules of every other charge: a check
that answers 503 gives it back with ``release_check``, before or after the charge lands, once."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from otp_service.domain.check_sources import CheckSources, SourceOutcome
from otp_service.domain.errors import StoreUnavailable
from otp_service.domain.redis_store import RedisStore
from otp_service.domain.verification_store import VerificationStore

from .stores import KEYS, PHONE, commit, take

SOURCE = "203.0.113.7"


@pytest.fixture
def sources(redis_store: RedisStore) -> CheckSources:
    return CheckSources(redis_store)


async def take_source(sources: CheckSources, token: str) -> SourceOutcome:
    took = await sources.take(PHONE, SOURCE, limit=5, window_ms=86_400_000, token=token, allowance_ms=3_600_000)
    return took.outcome


async def test_a_release_gives_the_end_users_slot_back_with_the_attempt(
    store: VerificationStore, sources: CheckSources, redis: Redis
) -> None:
    await commit(store, redis, max_attempts=5)
    assert await take_source(sources, "c1") is SourceOutcome.OK
    await take(store, "c1")
    await store.release_check(PHONE, "c1", source=SOURCE)
    assert await redis.zcard(KEYS.source_fails(PHONE, SOURCE)) == 0
    assert await redis.zcard(KEYS.fails(PHONE)) == 0
    record = await store.read(PHONE, "vf_0000000000000001")
    assert record is not None
    assert record.attempts_left == 5


async def test_a_release_when_only_the_end_users_slot_was_taken_gives_it_back(
    store: VerificationStore, sources: CheckSources, redis: Redis
) -> None:
    """The 503 came between take_source and take_attempt: only the source's slot was charged."""
    await take_source(sources, "c1")
    await store.release_check(PHONE, "c1", source=SOURCE)
    assert await redis.zcard(KEYS.source_fails(PHONE, SOURCE)) == 0


async def test_an_end_users_charge_that_arrives_after_its_release_takes_nothing(
    store: VerificationStore, sources: CheckSources, redis: Redis
) -> None:
    await store.release_check(PHONE, "late", source=SOURCE)
    with pytest.raises(StoreUnavailable):
        await take_source(sources, "late")
    assert await redis.zcard(KEYS.source_fails(PHONE, SOURCE)) == 0
    assert await take_source(sources, "next") is SourceOutcome.OK  # a new check is charged as usual


async def test_releasing_twice_leaves_the_end_users_other_failures_alone(
    store: VerificationStore, sources: CheckSources, redis: Redis
) -> None:
    await take_source(sources, "c1")
    await take_source(sources, "c2")
    await store.release_check(PHONE, "c1", source=SOURCE)
    await store.release_check(PHONE, "c1", source=SOURCE)
    assert await redis.zrange(KEYS.source_fails(PHONE, SOURCE), 0, -1) == [b"c2"]
