"""An end user's failure slot follows the token rules of every other charge: it is taken by the same
script as the attempt (``take_attempt``), and a check that answers 503 gives it back with
``release_check``, before or after the charge lands, once."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from otp_service.domain.check_sources import SourceBudget
from otp_service.domain.errors import StoreUnavailable
from otp_service.domain.verification_store import Taken, TakeOutcome, VerificationStore

from .stores import KEYS, PHONE, VID, commit

SOURCE = "203.0.113.7"


async def take_as_source(store: VerificationStore, token: str) -> Taken:
    budget = SourceBudget(SOURCE, limit=5, window_ms=86_400_000)
    return await store.take_attempt(PHONE, expected_id="", limit=10, window_ms=3_600_000, token=token, source=budget)


async def test_a_release_gives_the_end_users_slot_back_with_the_attempt(store: VerificationStore, redis: Redis) -> None:
    await commit(store, redis, max_attempts=5)
    assert (await take_as_source(store, "c1")).outcome is TakeOutcome.OK
    assert await redis.zcard(KEYS.source_fails(PHONE, SOURCE)) == 1
    await store.release_check(PHONE, "c1", source=SOURCE)
    assert await redis.zcard(KEYS.source_fails(PHONE, SOURCE)) == 0
    assert await redis.zcard(KEYS.fails(PHONE)) == 0
    record = await store.read(PHONE, VID)
    assert record is not None
    assert record.attempts_left == 5


async def test_a_release_of_a_check_that_found_no_verification_changes_nothing(
    store: VerificationStore, redis: Redis
) -> None:
    await commit(store, redis, max_attempts=5)
    assert (await take_as_source(store, "c1")).outcome is TakeOutcome.OK  # a failure of its own
    assert (await take_as_source(store, "c2")).outcome is TakeOutcome.OK
    await store.cancel(PHONE, VID)
    assert (await take_as_source(store, "c3")).outcome is TakeOutcome.MISSING
    await store.release_check(PHONE, "c3", source=SOURCE)
    assert sorted(await redis.zrange(KEYS.source_fails(PHONE, SOURCE), 0, -1)) == [b"c1", b"c2"]
    assert await redis.zcard(KEYS.fails(PHONE)) == 2


async def test_an_end_users_charge_that_arrives_after_its_release_takes_nothing(
    store: VerificationStore, redis: Redis
) -> None:
    await commit(store, redis, max_attempts=5)
    await store.release_check(PHONE, "late", source=SOURCE)
    with pytest.raises(StoreUnavailable):
        await take_as_source(store, "late")
    assert await redis.zcard(KEYS.source_fails(PHONE, SOURCE)) == 0
    assert await redis.zcard(KEYS.fails(PHONE)) == 0
    record = await store.read(PHONE, VID)
    assert record is not None
    assert record.attempts_left == 5
    assert (await take_as_source(store, "next")).outcome is TakeOutcome.OK  # a new check is charged as usual


async def test_releasing_twice_leaves_the_end_users_other_failures_alone(
    store: VerificationStore, redis: Redis
) -> None:
    await commit(store, redis, max_attempts=5)
    await take_as_source(store, "c1")
    await take_as_source(store, "c2")
    await store.release_check(PHONE, "c1", source=SOURCE)
    await store.release_check(PHONE, "c1", source=SOURCE)
    assert await redis.zrange(KEYS.source_fails(PHONE, SOURCE), 0, -1) == [b"c2"]
    record = await store.read(PHONE, VID)
    assert record is not None
    assert record.attempts_left == 4
