"""An end user's (a source's) failures on a number, charged by the same script as the check's attempt
(``take_attempt``, ``check_sources.py``): refused over its own budget, an allowance past a full
number window while it has no failure of its own, and no slot kept by a check that is no failure."""

from __future__ import annotations

from redis.asyncio import Redis

from otp_service.domain.check_sources import SourceBudget
from otp_service.domain.verification_store import CheckVerdict, FinishOutcome, Taken, TakeOutcome, VerificationStore

from .stores import KEYS, PHONE, SLACK_MS, VID, commit, finish

OWNER = "192.0.2.10"
STRANGER = "198.51.100.1"
HOUR_MS = 3_600_000
DAY_MS = 86_400_000


async def take_as(
    store: VerificationStore, source: str, token: str, *, limit: int = 10, source_limit: int = 5
) -> Taken:
    budget = SourceBudget(source, limit=source_limit, window_ms=DAY_MS)
    return await store.take_attempt(PHONE, expected_id="", limit=limit, window_ms=HOUR_MS, token=token, source=budget)


async def source_slots(redis: Redis, source: str) -> list[bytes]:
    return sorted(await redis.zrange(KEYS.source_fails(PHONE, source), 0, -1))


async def attempts_left(store: VerificationStore) -> int:
    record = await store.read(PHONE, VID)
    assert record is not None
    return record.attempts_left


async def test_a_check_takes_the_end_users_slot_with_the_attempt(store: VerificationStore, redis: Redis) -> None:
    await commit(store, redis, max_attempts=5)
    assert (await take_as(store, OWNER, "c1")).outcome is TakeOutcome.OK
    assert await source_slots(redis, OWNER) == [b"c1"]
    assert await redis.zcard(KEYS.fails(PHONE)) == 1
    assert await attempts_left(store) == 4
    assert 0 < await redis.pttl(KEYS.source_fails(PHONE, OWNER)) <= DAY_MS


async def test_an_end_user_over_their_budget_is_refused_and_nothing_is_taken(
    store: VerificationStore, redis: Redis
) -> None:
    await commit(store, redis, max_attempts=5)
    assert (await take_as(store, STRANGER, "c1", source_limit=1)).outcome is TakeOutcome.OK
    refused = await take_as(store, STRANGER, "c2", source_limit=1)
    assert refused.outcome is TakeOutcome.SOURCE_BUDGET
    assert DAY_MS - SLACK_MS < refused.wait_ms <= DAY_MS
    assert await source_slots(redis, STRANGER) == [b"c1"]
    assert await redis.zcard(KEYS.fails(PHONE)) == 1
    assert await attempts_left(store) == 4
    assert await redis.exists(KEYS.token(PHONE, "c2")) == 0


async def test_an_end_user_over_their_budget_is_refused_even_with_nothing_pending(
    store: VerificationStore, redis: Redis
) -> None:
    """The source's budget is judged first, as it always was: 429, not 404."""
    await commit(store, redis, max_attempts=5)
    assert (await take_as(store, STRANGER, "c1", source_limit=1)).outcome is TakeOutcome.OK
    await store.cancel(PHONE, VID)
    assert (await take_as(store, STRANGER, "c2", source_limit=1)).outcome is TakeOutcome.SOURCE_BUDGET


async def test_a_check_against_no_live_verification_leaves_the_end_users_window_as_it_was(
    store: VerificationStore, redis: Redis
) -> None:
    """Given back in the same call: the answer is 404 and no second round trip follows it."""
    await commit(store, redis, max_attempts=5)
    assert (await take_as(store, OWNER, "c1")).outcome is TakeOutcome.OK
    await store.cancel(PHONE, VID)
    assert (await take_as(store, OWNER, "c2")).outcome is TakeOutcome.MISSING
    assert await source_slots(redis, OWNER) == [b"c1"]
    assert (await take_as(store, STRANGER, "c3")).outcome is TakeOutcome.MISSING
    assert await redis.exists(KEYS.source_fails(PHONE, STRANGER)) == 0


async def test_a_check_refused_by_the_numbers_full_window_keeps_no_slot_of_the_end_users(
    store: VerificationStore, redis: Redis
) -> None:
    await commit(store, redis, max_attempts=10)
    assert (await take_as(store, STRANGER, "c1", limit=1)).outcome is TakeOutcome.OK
    refused = await take_as(store, STRANGER, "c2", limit=1)  # it has a failure of its own: no allowance
    assert refused.outcome is TakeOutcome.BUDGET
    assert HOUR_MS - SLACK_MS < refused.wait_ms <= HOUR_MS
    assert await source_slots(redis, STRANGER) == [b"c1"]
    assert await attempts_left(store) == 9


async def test_an_end_user_with_no_failure_of_their_own_passes_a_full_number_window(
    store: VerificationStore, redis: Redis
) -> None:
    """Strangers who fill the number's window do not keep its owner out."""
    await commit(store, redis, max_attempts=10)
    for i in range(2):
        assert (await take_as(store, f"198.51.100.{i}", f"s{i}", limit=2)).outcome is TakeOutcome.OK
    assert (await take_as(store, STRANGER, "s3", limit=2)).outcome is TakeOutcome.BUDGET
    owner = await take_as(store, OWNER, "o1", limit=2)
    assert owner.outcome is TakeOutcome.OK
    assert await redis.zcard(KEYS.fails(PHONE)) == 3  # the owner's check is still counted on the number
    assert (await take_as(store, OWNER, "o2", limit=2)).outcome is TakeOutcome.BUDGET  # now it has one


async def test_an_end_users_failure_older_than_the_numbers_window_still_leaves_an_allowance(
    store: VerificationStore, redis: Redis
) -> None:
    await commit(store, redis, max_attempts=10)
    now_ms = int((await redis.time())[0]) * 1000
    await redis.zadd(KEYS.source_fails(PHONE, OWNER), {"old": now_ms - HOUR_MS - 1_000})
    await redis.zadd(KEYS.fails(PHONE), {"x": now_ms, "y": now_ms})
    assert (await take_as(store, OWNER, "o1", limit=2)).outcome is TakeOutcome.OK
    assert await source_slots(redis, OWNER) == [b"o1", b"old"]  # still in its own day-long window


async def test_a_wrong_code_keeps_the_end_users_slot(store: VerificationStore, redis: Redis) -> None:
    await commit(store, redis, max_attempts=5)
    taken = await take_as(store, OWNER, "c1")
    assert await finish_as(store, taken, CheckVerdict.WRONG, "c1", OWNER) == (FinishOutcome.WRONG, 4)
    assert await source_slots(redis, OWNER) == [b"c1"]


async def test_the_wrong_code_that_kills_the_verification_keeps_the_end_users_slot(
    store: VerificationStore, redis: Redis
) -> None:
    await commit(store, redis, max_attempts=1)
    taken = await take_as(store, OWNER, "c1")
    assert await finish_as(store, taken, CheckVerdict.WRONG, "c1", OWNER) == (FinishOutcome.DEAD, 0)
    assert await source_slots(redis, OWNER) == [b"c1"]


async def test_an_approval_gives_the_end_users_slot_back_in_the_same_call(
    store: VerificationStore, redis: Redis
) -> None:
    await commit(store, redis, max_attempts=5)
    await finish_as(store, await take_as(store, OWNER, "c1"), CheckVerdict.WRONG, "c1", OWNER)
    taken = await take_as(store, OWNER, "c2")
    assert await finish_as(store, taken, CheckVerdict.APPROVED, "c2", OWNER) == (FinishOutcome.APPROVED, 0)
    assert await source_slots(redis, OWNER) == [b"c1"]  # its earlier failure stays


async def test_a_check_that_finds_its_verification_gone_gives_the_end_users_slot_back(
    store: VerificationStore, redis: Redis
) -> None:
    """Cancelled (or replaced, or expired) while the code was being verified: not a failure."""
    await commit(store, redis, max_attempts=5)
    taken = await take_as(store, OWNER, "c1")
    await store.cancel(PHONE, VID)
    assert (await finish_as(store, taken, CheckVerdict.WRONG, "c1", OWNER))[0] is FinishOutcome.MISSING
    assert await source_slots(redis, OWNER) == []


async def test_a_vendor_that_says_expired_gives_the_end_users_slot_back(store: VerificationStore, redis: Redis) -> None:
    await commit(store, redis, max_attempts=5)
    taken = await take_as(store, OWNER, "c1")
    assert (await finish_as(store, taken, CheckVerdict.EXPIRED, "c1", OWNER))[0] is FinishOutcome.MISSING
    assert await source_slots(redis, OWNER) == []


async def test_a_finish_without_a_source_leaves_the_end_users_slots_alone(
    store: VerificationStore, redis: Redis
) -> None:
    await commit(store, redis, max_attempts=5)
    taken = await take_as(store, OWNER, "c1")
    assert (await finish(store, taken, CheckVerdict.APPROVED, "c1"))[0] is FinishOutcome.APPROVED
    assert await source_slots(redis, OWNER) == [b"c1"]


async def finish_as(
    store: VerificationStore, taken: Taken, outcome: CheckVerdict, token: str, source: str
) -> tuple[FinishOutcome, int]:
    return await store.finish_check(
        PHONE, VID, gen=taken.gen, outcome=outcome, token=token, attempts_left=taken.attempts_left, source=source
    )
