"""Giving back a check's charge (a 503, a vendor that could not answer): by the request's token, at
most once, and a charge that reaches Redis after its release (a stalled Redis) costs nothing."""

from __future__ import annotations

from redis.asyncio import Redis

from otp_service.domain.models import Status
from otp_service.domain.verification_store import CheckVerdict, FinishOutcome, TakeOutcome, VerificationStore

from .stores import KEYS, PHONE, VID, commit, finish, take


async def test_a_release_gives_the_attempt_and_the_budget_back(store: VerificationStore, redis: Redis) -> None:
    await commit(store, redis, max_attempts=5)
    await take(store, "c1")
    await store.release_check(PHONE, "c1")
    record = await store.read(PHONE, VID)
    assert record is not None
    assert record.attempts_left == 5
    assert await redis.zcard(KEYS.fails(PHONE)) == 0


async def test_releasing_a_check_twice_gives_back_once(store: VerificationStore, redis: Redis) -> None:
    await commit(store, redis, max_attempts=5)
    await take(store, "c1")
    await take(store, "c2")
    await store.release_check(PHONE, "c1")
    await store.release_check(PHONE, "c1")
    record = await store.read(PHONE, VID)
    assert record is not None
    assert record.attempts_left == 4  # c2 is still charged
    assert await redis.zrange(KEYS.fails(PHONE), 0, -1) == [b"c2"]


async def test_a_charge_that_arrives_after_its_release_costs_nothing(store: VerificationStore, redis: Redis) -> None:
    """A check whose script reached a stalled Redis answers 503 and is released; the script may run
    after the release when Redis wakes up, and must then take nothing."""
    await commit(store, redis, max_attempts=5)
    await store.release_check(PHONE, "late")
    assert (await take(store, "late")).outcome is TakeOutcome.MISSING
    record = await store.read(PHONE, VID)
    assert record is not None
    assert record.attempts_left == 5
    assert await redis.zcard(KEYS.fails(PHONE)) == 0
    assert (await take(store, "next")).attempts_left == 4  # a new check is charged as usual
    assert await redis.pttl(KEYS.token(PHONE, "late")) > 0  # the marker goes away by itself


async def test_a_finish_that_arrives_after_its_release_changes_nothing(store: VerificationStore, redis: Redis) -> None:
    await commit(store, redis, max_attempts=1)
    taken = await take(store, "c1")
    await store.release_check(PHONE, "c1")
    assert (await finish(store, taken, CheckVerdict.WRONG, "c1"))[0] is FinishOutcome.MISSING
    assert (await finish(store, taken, CheckVerdict.APPROVED, "c1"))[0] is FinishOutcome.MISSING
    record = await store.read(PHONE, VID)
    assert record is not None
    assert (record.status, record.attempts_left) == (Status.PENDING, 1)


async def test_a_release_after_a_wrong_finish_gives_the_attempt_back(store: VerificationStore, redis: Redis) -> None:
    """The finish ran but its answer was lost (the request answered 503): the guess costs nothing."""
    await commit(store, redis, max_attempts=5)
    taken = await take(store, "c1")
    assert await finish(store, taken, CheckVerdict.WRONG, "c1") == (FinishOutcome.WRONG, 4)
    await store.release_check(PHONE, "c1")
    record = await store.read(PHONE, VID)
    assert record is not None
    assert record.attempts_left == 5
    assert await redis.zcard(KEYS.fails(PHONE)) == 0


async def test_a_release_after_a_resend_leaves_the_new_attempts_alone(store: VerificationStore, redis: Redis) -> None:
    await commit(store, redis, max_attempts=5)
    await take(store, "c1")
    assert await commit(store, redis, fresh=False, max_attempts=5) == "2"
    await store.release_check(PHONE, "c1")
    record = await store.read(PHONE, VID)
    assert record is not None
    assert record.attempts_left == 5
    assert await redis.zcard(KEYS.fails(PHONE)) == 0
