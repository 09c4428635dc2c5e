"""Verification records (VerificationStore), against a real Redis server.

Times come from Redis ``TIME``; assertions compare with Redis' clock and allow a second of slack.
"""

from __future__ import annotations

import asyncio
from typing import Any

from redis.asyncio import Redis

from otp_service.domain.models import Mode, Status
from otp_service.domain.verification_store import RETAIN_MS, CheckVerdict, FinishOutcome, TakeOutcome, VerificationStore

from .stores import KEYS, PHONE, SLACK_MS, VID, commit, finish, redis_now_ms, take

# -- commit_send ----------------------------------------------------------------------------------


async def test_commit_creates_a_pending_record_with_its_ttls(store: VerificationStore, redis: Redis) -> None:
    ttl_ms = 600_000
    assert await commit(store, redis, ttl_ms=ttl_ms, cooldown_ms=30_000, max_attempts=5) == "1"
    now = await redis_now_ms(redis)
    record_ttl = await redis.pttl(KEYS.record(PHONE, VID))
    cur_ttl = await redis.pttl(KEYS.current(PHONE))
    assert ttl_ms + RETAIN_MS - SLACK_MS < record_ttl <= ttl_ms + RETAIN_MS
    assert ttl_ms - SLACK_MS < cur_ttl <= ttl_ms
    assert await redis.get(KEYS.current(PHONE)) == VID.encode()

    record = await store.read(PHONE, VID)
    assert record is not None
    assert record.id == VID
    assert record.to == PHONE
    assert record.status is Status.PENDING
    assert record.mode is Mode.LOCAL
    assert record.attempts_left == record.max_attempts == 5
    assert record.code_length == 6
    assert record.expires_ms - record.created_ms == ttl_ms
    assert record.resend_ms - record.created_ms == 30_000
    assert abs(record.created_ms - now) < SLACK_MS
    assert record.effective_status(now) is Status.PENDING


async def test_a_fresh_commit_never_overwrites_an_existing_record(store: VerificationStore, redis: Redis) -> None:
    assert await commit(store, redis, code_hash="first") == "1"
    assert await commit(store, redis, code_hash="second") is None
    taken = await take(store, "c1")
    assert taken.code_hash == "first"


async def test_a_resend_keeps_the_id_and_restarts_the_attempts(store: VerificationStore, redis: Redis) -> None:
    await commit(store, redis, max_attempts=5, code_hash="old")
    await take(store, "c1")
    await take(store, "c2")
    assert await commit(store, redis, fresh=False, max_attempts=5, code_hash="new") == "2"
    record = await store.read(PHONE, VID)
    assert record is not None
    assert record.attempts_left == 5
    taken = await take(store, "c3")
    assert taken.id == VID
    assert taken.gen == "2"
    assert taken.code_hash == "new"
    # Failed checks still count across resends (the per-number check_limit).
    assert await redis.zcard(KEYS.fails(PHONE)) == 3


async def test_a_resend_of_a_finished_verification_is_refused(store: VerificationStore, redis: Redis) -> None:
    await commit(store, redis)
    assert await store.cancel(PHONE, VID)
    assert await commit(store, redis, fresh=False) is None


async def test_a_resend_of_an_expired_verification_is_refused(store: VerificationStore, redis: Redis) -> None:
    await commit(store, redis, ttl_ms=200)
    await asyncio.sleep(0.3)
    assert await commit(store, redis, fresh=False) is None


async def test_a_short_ttl_really_expires(store: VerificationStore, redis: Redis) -> None:
    await commit(store, redis, ttl_ms=300)
    assert (await take(store, "c0")).outcome is TakeOutcome.OK
    await asyncio.sleep(0.5)
    assert (await take(store, "c1")).outcome is TakeOutcome.MISSING
    assert await redis.exists(KEYS.current(PHONE)) == 0
    record = await store.read(PHONE, VID)  # still readable for RETAIN_MS, and reads as expired
    assert record is not None
    assert record.effective_status(await redis_now_ms(redis)) is Status.EXPIRED
    assert await store.cancel(PHONE, VID) is False


# -- take_attempt -----------------------------------------------------------------------------------


async def test_take_attempt_spends_one_attempt(store: VerificationStore, redis: Redis) -> None:
    await commit(store, redis, max_attempts=5, code_hash="h")
    taken = await take(store, "c1")
    assert taken.outcome is TakeOutcome.OK
    assert taken.id == VID
    assert taken.gen == "1"
    assert taken.attempts_left == 4
    assert taken.code_hash == "h"
    assert taken.mode == "local"
    assert taken.provider == "gatum"
    record = await store.read(PHONE, VID)
    assert record is not None
    assert record.attempts_left == 4


async def test_a_code_of_any_length_is_charged_and_told_the_stored_length(
    store: VerificationStore, redis: Redis
) -> None:
    """The length is judged after the charge, like the code itself: a free answer would be an oracle."""
    await commit(store, redis, code_length=6)
    taken = await take(store, "c1")
    assert taken.outcome is TakeOutcome.OK
    assert taken.code_length == 6
    record = await store.read(PHONE, VID)
    assert record is not None
    assert record.attempts_left == 4
    assert await redis.zcard(KEYS.fails(PHONE)) == 1


async def test_a_full_failed_check_window_is_budget(store: VerificationStore, redis: Redis) -> None:
    await commit(store, redis, max_attempts=10)
    assert (await take(store, "c1", limit=2, window_ms=60_000)).outcome is TakeOutcome.OK
    assert (await take(store, "c2", limit=2, window_ms=60_000)).outcome is TakeOutcome.OK
    refused = await take(store, "c3", limit=2, window_ms=60_000)
    assert refused.outcome is TakeOutcome.BUDGET
    assert 60_000 - SLACK_MS < refused.wait_ms <= 60_000
    record = await store.read(PHONE, VID)
    assert record is not None
    assert record.attempts_left == 8  # the refused check cost no attempt


async def test_take_attempt_for_another_id_is_missing(store: VerificationStore, redis: Redis) -> None:
    await commit(store, redis)
    assert (await take(store, "c1", expected_id="vf_other")).outcome is TakeOutcome.MISSING
    assert (await take(store, "c2", expected_id=VID)).outcome is TakeOutcome.OK


async def test_take_attempt_without_a_verification_is_missing(store: VerificationStore) -> None:
    assert (await take(store, "c1")).outcome is TakeOutcome.MISSING


async def test_no_attempt_is_given_after_the_last_one(store: VerificationStore, redis: Redis) -> None:
    await commit(store, redis, max_attempts=2)
    assert (await take(store, "c1")).attempts_left == 1
    assert (await take(store, "c2")).attempts_left == 0
    assert (await take(store, "c3")).outcome is TakeOutcome.MISSING


async def test_concurrent_attempts_are_counted_exactly(store: VerificationStore, redis: Redis) -> None:
    await commit(store, redis, max_attempts=5)
    results = await asyncio.gather(*(take(store, f"c{i}") for i in range(12)))
    ok = [r for r in results if r.outcome is TakeOutcome.OK]
    assert len(ok) == 5
    assert sorted(r.attempts_left for r in ok) == [0, 1, 2, 3, 4]
    assert all(r.outcome is TakeOutcome.MISSING for r in results if r.outcome is not TakeOutcome.OK)


# -- finish_check ---------------------------------------------------------------------------------


async def test_of_concurrent_right_checks_exactly_one_is_approved(store: VerificationStore, redis: Redis) -> None:
    await commit(store, redis, max_attempts=10)
    taken = await asyncio.gather(*(take(store, f"c{i}") for i in range(8)))
    assert all(t.outcome is TakeOutcome.OK for t in taken)
    outcomes = await asyncio.gather(*(finish(store, t, CheckVerdict.APPROVED, f"c{i}") for i, t in enumerate(taken)))
    assert [o for o, _ in outcomes].count(FinishOutcome.APPROVED) == 1
    assert all(o is FinishOutcome.MISSING for o, _ in outcomes if o is not FinishOutcome.APPROVED)
    record = await store.read(PHONE, VID)
    assert record is not None
    assert record.status is Status.APPROVED
    assert record.finished_ms > 0
    assert await redis.exists(KEYS.current(PHONE)) == 0
    assert 0 < await redis.pttl(KEYS.record(PHONE, VID)) <= RETAIN_MS
    assert await redis.zcard(KEYS.fails(PHONE)) == 0  # right codes are not failed checks
    assert (await take(store, "again")).outcome is TakeOutcome.MISSING


async def test_a_wrong_code_reports_the_attempts_left(store: VerificationStore, redis: Redis) -> None:
    await commit(store, redis, max_attempts=5)
    taken = await take(store, "c1")
    assert await finish(store, taken, CheckVerdict.WRONG, "c1") == (FinishOutcome.WRONG, 4)
    assert await redis.zcard(KEYS.fails(PHONE)) == 1
    record = await store.read(PHONE, VID)
    assert record is not None
    assert record.status is Status.PENDING
    assert record.attempts_left == 4


async def test_the_wrong_code_using_the_last_attempt_kills_the_verification(
    store: VerificationStore, redis: Redis
) -> None:
    await commit(store, redis, max_attempts=1)
    taken = await take(store, "c1")
    assert taken.attempts_left == 0
    assert await finish(store, taken, CheckVerdict.WRONG, "c1") == (FinishOutcome.DEAD, 0)
    record = await store.read(PHONE, VID)
    assert record is not None
    assert record.status is Status.MAX_ATTEMPTS_REACHED
    assert record.attempts_left == 0
    assert await redis.exists(KEYS.current(PHONE)) == 0
    assert (await take(store, "c2")).outcome is TakeOutcome.MISSING


async def test_wrong_checks_finishing_in_any_order_kill_it_exactly_once(store: VerificationStore, redis: Redis) -> None:
    await commit(store, redis, max_attempts=2)
    first, last = await take(store, "c1"), await take(store, "c2")
    assert (first.attempts_left, last.attempts_left) == (1, 0)
    # The check that took the last attempt finishes first: it decides.
    assert await finish(store, last, CheckVerdict.WRONG, "c2") == (FinishOutcome.DEAD, 0)
    # The earlier guess was charged and wrong: it reports the verification dead with what its own
    # charge left, and kills nothing twice.
    assert await finish(store, first, CheckVerdict.WRONG, "c1") == (FinishOutcome.DEAD, 1)
    record = await store.read(PHONE, VID)
    assert record is not None
    assert record.status is Status.MAX_ATTEMPTS_REACHED


async def test_a_right_code_checked_alongside_the_last_wrong_one_is_not_approved(
    store: VerificationStore, redis: Redis
) -> None:
    await commit(store, redis, max_attempts=2)
    right, wrong = await take(store, "c1"), await take(store, "c2")
    assert await finish(store, wrong, CheckVerdict.WRONG, "c2") == (FinishOutcome.DEAD, 0)
    assert (await finish(store, right, CheckVerdict.APPROVED, "c1"))[0] is FinishOutcome.MISSING


async def test_a_right_code_for_a_replaced_send_is_not_approved(store: VerificationStore, redis: Redis) -> None:
    await commit(store, redis)
    taken = await take(store, "c1")
    assert await commit(store, redis, fresh=False) == "2"  # resend while the old code was being checked
    assert (await finish(store, taken, CheckVerdict.APPROVED, "c1"))[0] is FinishOutcome.MISSING
    record = await store.read(PHONE, VID)
    assert record is not None
    assert record.status is Status.PENDING


async def test_a_wrong_code_for_a_replaced_send_does_not_kill_the_new_one(
    store: VerificationStore, redis: Redis
) -> None:
    await commit(store, redis, max_attempts=1)
    taken = await take(store, "c1")
    assert await commit(store, redis, fresh=False, max_attempts=1) == "2"
    outcome, _ = await finish(store, taken, CheckVerdict.WRONG, "c1")
    assert outcome is FinishOutcome.WRONG
    record = await store.read(PHONE, VID)
    assert record is not None
    assert record.status is Status.PENDING
    assert record.attempts_left == 1


async def test_vendor_expired_and_locked_outcomes_finish_the_verification(
    store: VerificationStore, redis: Redis
) -> None:
    await commit(store, redis, vid="vf_expired")
    taken = await take(store, "c1")
    assert (await finish(store, taken, CheckVerdict.EXPIRED, "c1", vid="vf_expired"))[0] is FinishOutcome.MISSING
    record = await store.read(PHONE, "vf_expired")
    assert record is not None
    assert record.status is Status.EXPIRED

    await commit(store, redis, vid="vf_locked")
    taken = await take(store, "c2")
    assert taken.attempts_left > 0
    assert (await finish(store, taken, CheckVerdict.LOCKED, "c2", vid="vf_locked"))[0] is FinishOutcome.DEAD
    record = await store.read(PHONE, "vf_locked")
    assert record is not None
    assert record.status is Status.MAX_ATTEMPTS_REACHED
    assert record.attempts_left == 0


async def test_finish_for_an_unknown_record_is_missing(store: VerificationStore) -> None:
    outcome = await store.finish_check(
        PHONE, "vf_nope", gen="1", outcome=CheckVerdict.APPROVED, token="c", attempts_left=3
    )
    assert outcome == (FinishOutcome.MISSING, 0)


# -- cancel ---------------------------------------------------------------------------------------


async def test_cancel_finishes_a_pending_verification_once(store: VerificationStore, redis: Redis) -> None:
    await commit(store, redis)
    assert await store.cancel(PHONE, VID) is True
    assert await store.cancel(PHONE, VID) is False
    record = await store.read(PHONE, VID)
    assert record is not None
    assert record.status is Status.CANCELED
    assert await redis.exists(KEYS.current(PHONE)) == 0
    assert 0 < await redis.pttl(KEYS.record(PHONE, VID)) <= RETAIN_MS
    assert (await take(store, "c1")).outcome is TakeOutcome.MISSING


async def test_cancel_of_an_unknown_or_approved_verification_is_refused(store: VerificationStore, redis: Redis) -> None:
    assert await store.cancel(PHONE, "vf_nope") is False
    await commit(store, redis)
    taken = await take(store, "c1")
    assert (await finish(store, taken, CheckVerdict.APPROVED, "c1"))[0] is FinishOutcome.APPROVED
    assert await store.cancel(PHONE, VID) is False


# -- delivery receipts ----------------------------------------------------------------------------


async def test_a_receipt_never_moves_delivery_backwards(store: VerificationStore, redis: Redis) -> None:
    await commit(store, redis, message_id="msg-1")
    kw: dict[str, Any] = {"provider": "gatum", "message_id": "msg-1"}
    assert await store.apply_receipt(PHONE, VID, status="sent", rank=1, **kw) is True
    assert await store.apply_receipt(PHONE, VID, status="delivered", rank=3, **kw) is True
    assert await store.apply_receipt(PHONE, VID, status="sent", rank=1, **kw) is False
    assert await store.apply_receipt(PHONE, VID, status="queued", rank=0, **kw) is False
    record = await store.read(PHONE, VID)
    assert record is not None
    assert record.delivery_status == "delivered"
    assert record.delivery_provider == "gatum"


async def test_a_receipt_for_an_earlier_message_is_ignored(store: VerificationStore, redis: Redis) -> None:
    await commit(store, redis, message_id="msg-2")
    stale = await store.apply_receipt(PHONE, VID, status="failed", provider="gatum", rank=4, message_id="msg-1")
    assert stale is False
    record = await store.read(PHONE, VID)
    assert record is not None
    assert record.delivery_status == "unknown"


async def test_a_receipt_matched_by_reference_without_message_id_applies(
    store: VerificationStore, redis: Redis
) -> None:
    await commit(store, redis, message_id="msg-1")
    assert await store.apply_receipt(PHONE, VID, status="delivered", provider="wavy", rank=3, message_id="") is True
    record = await store.read(PHONE, VID)
    assert record is not None
    assert record.delivery_status == "delivered"


async def test_a_receipt_for_an_unknown_record_is_ignored(store: VerificationStore, redis: Redis) -> None:
    assert await store.apply_receipt(PHONE, "vf_nope", status="sent", provider="gatum", rank=1, message_id="m") is False
    assert await redis.exists(KEYS.record(PHONE, "vf_nope")) == 0  # no half record created


# -- indexes ---------------------------------------------------------------------------------------


async def test_id_and_message_indexes_round_trip_with_a_ttl(store: VerificationStore, redis: Redis) -> None:
    await store.index(VID, PHONE, 600_000, [("gatum", "sent-42"), ("gatum", "ref-7")])
    assert await store.id_for_message("gatum", "ref-7") == VID
    assert await store.phone_for_id(VID) == PHONE
    assert await store.id_for_message("gatum", "sent-42") == VID
    assert await store.phone_for_id("vf_unknown") is None
    assert await store.id_for_message("wavy", "sent-42") is None
    for key in (KEYS.id(VID), KEYS.message("gatum", "sent-42")):
        assert 600_000 + RETAIN_MS - SLACK_MS < await redis.pttl(key) <= 600_000 + RETAIN_MS
