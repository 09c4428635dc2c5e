"""The Redis layout and Lua scripts, against a real Redis server (never a fake).

Times come from Redis ``TIME``; assertions compare with Redis' clock and allow a second of slack.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.crc import key_slot

from otp_service.domain.errors import StoreUnavailable
from otp_service.domain.models import Mode, Status
from otp_service.domain.store import RETAIN_MS, VerificationStore

PHONE = "+34600100200"
OTHER_PHONE = "+5511987654321"
VID = "vf_0000000000000001"
LOCK_MS = 15_000
LOCK_TOKEN = "lock-token"
SLACK_MS = 1_000


@pytest.fixture
def store(redis: Redis) -> VerificationStore:
    return VerificationStore(redis)


async def redis_now_ms(redis: Redis) -> int:
    seconds, micros = await redis.time()
    return int(seconds) * 1000 + int(micros) // 1000


async def commit(
    store: VerificationStore,
    *,
    phone: str = PHONE,
    vid: str = VID,
    fresh: bool = True,
    ttl_ms: int = 600_000,
    cooldown_ms: int = 0,
    lock_token: str = LOCK_TOKEN,
    max_attempts: int = 5,
    code_length: int = 6,
    code_hash: str = "$argon2id$v=19$fake",
    message_id: str = "",
) -> str | None:
    fields: dict[str, str | int] = {
        "to": phone,
        "mode": "local",
        "provider": "gatum",
        "code_length": code_length,
        "code_hash": code_hash,
        "client": "web",
    }
    if message_id:
        fields["message_id"] = message_id
    stored = await store.commit_send(
        phone,
        vid,
        fresh=fresh,
        ttl_ms=ttl_ms,
        cooldown_ms=cooldown_ms,
        lock_token=lock_token,
        max_attempts=max_attempts,
        fields=fields,
    )
    if stored is None:
        return None
    assert stored == await store.read(phone, vid)  # what the commit returns is the record as stored
    gen = await store.redis.hget(store.record_key(phone, vid), "gen")  # type: ignore[misc]
    return gen.decode()  # type: ignore[no-any-return]


async def take(
    store: VerificationStore,
    token: str,
    *,
    phone: str = PHONE,
    expected_id: str = "",
    code_length: int = 6,
    limit: int = 20,
    window_ms: int = 86_400_000,
) -> Any:
    return await store.take_attempt(
        phone, expected_id=expected_id, code_length=code_length, limit=limit, window_ms=window_ms, token=token
    )


async def begin(
    store: VerificationStore, token: str, *, phone: str = PHONE, limit: int = 5, window_ms: int = 600_000
) -> Any:
    return await store.begin_send(phone, limit=limit, window_ms=window_ms, token=token, lock_ms=LOCK_MS)


async def finish(store: VerificationStore, taken: Any, outcome: str, token: str, *, vid: str = VID) -> tuple[str, int]:
    """Finish a check the way the service does: with the gen and attempts_left its take_attempt returned."""
    return await store.finish_check(
        PHONE, vid, gen=taken.gen, outcome=outcome, token=token, attempts_left=taken.attempts_left
    )


# -- begin_send -----------------------------------------------------------------------------------


async def test_begin_send_reserves_a_send_and_takes_the_lock(store: VerificationStore, redis: Redis) -> None:
    result = await begin(store, "t1")
    assert result.outcome == "ok"
    assert result.current_id == ""
    assert abs(result.now_ms - await redis_now_ms(redis)) < SLACK_MS
    assert await redis.get(store.phone_key(PHONE, "sending")) == b"t1"
    assert 0 < await redis.pttl(store.phone_key(PHONE, "sending")) <= LOCK_MS
    assert await redis.zrange(store.phone_key(PHONE, "sends"), 0, -1) == [b"t1"]


async def test_begin_send_while_a_send_is_in_flight_is_busy(store: VerificationStore, redis: Redis) -> None:
    assert (await begin(store, "t1")).outcome == "ok"
    busy = await begin(store, "t2")
    assert busy.outcome == "busy"
    assert LOCK_MS - SLACK_MS < busy.wait_ms <= LOCK_MS
    # A refused attempt costs nothing from the send window.
    assert await redis.zcard(store.phone_key(PHONE, "sends")) == 1


async def test_abort_send_gives_back_the_reservation_and_the_lock(store: VerificationStore, redis: Redis) -> None:
    assert (await begin(store, "t1", limit=1)).outcome == "ok"
    await store.abort_send(PHONE, "t1")
    assert await redis.exists(store.phone_key(PHONE, "sending")) == 0
    assert await redis.zcard(store.phone_key(PHONE, "sends")) == 0
    assert (await begin(store, "t2", limit=1)).outcome == "ok"


async def test_abort_with_another_token_leaves_the_lock_alone(store: VerificationStore, redis: Redis) -> None:
    assert (await begin(store, "t1")).outcome == "ok"
    await store.abort_send(PHONE, "someone-else")
    assert await redis.get(store.phone_key(PHONE, "sending")) == b"t1"
    assert (await begin(store, "t2")).outcome == "busy"


async def test_commit_releases_the_lock_and_starts_the_cooldown(store: VerificationStore, redis: Redis) -> None:
    assert (await begin(store, "t1")).outcome == "ok"
    assert await commit(store, lock_token="t1", cooldown_ms=30_000) == "1"
    assert await redis.exists(store.phone_key(PHONE, "sending")) == 0
    cooldown = await begin(store, "t2")
    assert cooldown.outcome == "cooldown"
    assert 30_000 - SLACK_MS < cooldown.wait_ms <= 30_000


async def test_zero_cooldown_allows_an_immediate_resend(store: VerificationStore, redis: Redis) -> None:
    assert (await begin(store, "t1")).outcome == "ok"
    await commit(store, lock_token="t1", cooldown_ms=0)
    assert await redis.exists(store.phone_key(PHONE, "cooldown")) == 0
    again = await begin(store, "t2")
    assert again.outcome == "ok"
    assert again.current_id == VID


async def test_the_send_limit_refuses_with_the_exact_wait(store: VerificationStore, redis: Redis) -> None:
    for token in ("t1", "t2"):
        assert (await begin(store, token, limit=2, window_ms=60_000)).outcome == "ok"
        await commit(store, vid=f"vf_{token}", lock_token=token)
        await redis.delete(store.phone_key(PHONE, "cur"))
    limited = await begin(store, "t3", limit=2, window_ms=60_000)
    assert limited.outcome == "limit"
    assert 60_000 - SLACK_MS < limited.wait_ms <= 60_000
    assert await redis.exists(store.phone_key(PHONE, "sending")) == 0  # a refused send takes no lock


async def test_the_send_window_slides(store: VerificationStore) -> None:
    assert (await begin(store, "t1", limit=1, window_ms=300)).outcome == "ok"
    await commit(store, lock_token="t1")
    assert (await begin(store, "t2", limit=1, window_ms=300)).outcome == "limit"
    await asyncio.sleep(0.35)
    assert (await begin(store, "t3", limit=1, window_ms=300)).outcome == "ok"


async def test_send_windows_are_per_phone_number(store: VerificationStore) -> None:
    assert (await begin(store, "t1", limit=1)).outcome == "ok"
    assert (await begin(store, "t2", phone=OTHER_PHONE, limit=1)).outcome == "ok"


# -- reserve / refund -----------------------------------------------------------------------------


async def test_reserve_passes_exactly_the_limit(store: VerificationStore) -> None:
    results = [await store.reserve("client", "web", limit=3, window_ms=60_000, token=f"t{i}") for i in range(6)]
    assert results[:3] == [0, 0, 0]
    assert all(60_000 - SLACK_MS < wait <= 60_000 for wait in results[3:])


async def test_reserve_is_exact_under_fifty_concurrent_requests(store: VerificationStore, redis: Redis) -> None:
    results = await asyncio.gather(
        *(store.reserve("ip", "203.0.113.7", limit=10, window_ms=60_000, token=f"t{i}") for i in range(50))
    )
    assert results.count(0) == 10
    assert all(wait > 0 for wait in results if wait)
    assert await redis.zcard(store.window_key("ip", "203.0.113.7")) == 10


async def test_refund_frees_exactly_one_slot(store: VerificationStore) -> None:
    for i in range(2):
        assert await store.reserve("client", "web", limit=2, window_ms=60_000, token=f"t{i}") == 0
    assert await store.reserve("client", "web", limit=2, window_ms=60_000, token="t2") > 0
    await store.refund("client", "web", "t0")
    await store.refund("client", "web", "never-reserved")
    assert await store.reserve("client", "web", limit=2, window_ms=60_000, token="t3") == 0
    assert await store.reserve("client", "web", limit=2, window_ms=60_000, token="t4") > 0


async def test_refunds_under_concurrency_never_let_more_than_the_limit_in(store: VerificationStore) -> None:
    first = await asyncio.gather(
        *(store.reserve("client", "web", limit=5, window_ms=60_000, token=f"a{i}") for i in range(20))
    )
    assert first.count(0) == 5
    await asyncio.gather(*(store.refund("client", "web", f"a{i}") for i in range(20)))
    second = await asyncio.gather(
        *(store.reserve("client", "web", limit=5, window_ms=60_000, token=f"b{i}") for i in range(20))
    )
    assert second.count(0) == 5


async def test_reserve_wait_is_when_the_oldest_entry_leaves(store: VerificationStore) -> None:
    assert await store.reserve("client", "web", limit=1, window_ms=400, token="t0") == 0
    await asyncio.sleep(0.2)
    wait = await store.reserve("client", "web", limit=1, window_ms=400, token="t1")
    assert 0 < wait <= 210
    await asyncio.sleep((wait + 30) / 1000)
    assert await store.reserve("client", "web", limit=1, window_ms=400, token="t2") == 0


async def test_windows_are_separate_per_kind_and_identity(store: VerificationStore) -> None:
    assert await store.reserve("client", "web", limit=1, window_ms=60_000, token="t") == 0
    assert await store.reserve("client", "mobile", limit=1, window_ms=60_000, token="t") == 0
    assert await store.reserve("ip", "web", limit=1, window_ms=60_000, token="t") == 0
    assert await store.reserve("client", "web", limit=1, window_ms=60_000, token="u") > 0


async def test_a_window_key_expires_with_its_window(store: VerificationStore, redis: Redis) -> None:
    await store.reserve("client", "web", limit=5, window_ms=60_000, token="t")
    assert 0 < await redis.pttl(store.window_key("client", "web")) <= 60_000


# -- commit_send ----------------------------------------------------------------------------------


async def test_commit_creates_a_pending_record_with_its_ttls(store: VerificationStore, redis: Redis) -> None:
    ttl_ms = 600_000
    assert await commit(store, ttl_ms=ttl_ms, cooldown_ms=30_000, max_attempts=5) == "1"
    now = await redis_now_ms(redis)
    record_ttl = await redis.pttl(store.record_key(PHONE, VID))
    cur_ttl = await redis.pttl(store.phone_key(PHONE, "cur"))
    assert ttl_ms + RETAIN_MS - SLACK_MS < record_ttl <= ttl_ms + RETAIN_MS
    assert ttl_ms - SLACK_MS < cur_ttl <= ttl_ms
    assert await redis.get(store.phone_key(PHONE, "cur")) == VID.encode()

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


async def test_a_fresh_commit_never_overwrites_an_existing_record(store: VerificationStore) -> None:
    assert await commit(store, code_hash="first") == "1"
    assert await commit(store, code_hash="second") is None
    taken = await take(store, "c1")
    assert taken.code_hash == "first"


async def test_a_resend_keeps_the_id_and_restarts_the_attempts(store: VerificationStore, redis: Redis) -> None:
    await commit(store, max_attempts=5, code_hash="old")
    await take(store, "c1")
    await take(store, "c2")
    assert await commit(store, fresh=False, max_attempts=5, code_hash="new") == "2"
    record = await store.read(PHONE, VID)
    assert record is not None
    assert record.attempts_left == 5
    taken = await take(store, "c3")
    assert taken.id == VID
    assert taken.gen == "2"
    assert taken.code_hash == "new"
    # Failed checks still count across resends (the per-number check_limit).
    assert await redis.zcard(store.phone_key(PHONE, "fails")) == 3


async def test_a_resend_of_a_finished_verification_is_refused(store: VerificationStore) -> None:
    await commit(store)
    assert await store.cancel(PHONE, VID)
    assert await commit(store, fresh=False) is None


async def test_a_resend_of_an_expired_verification_is_refused(store: VerificationStore) -> None:
    await commit(store, ttl_ms=200)
    await asyncio.sleep(0.3)
    assert await commit(store, fresh=False) is None


async def test_a_short_ttl_really_expires(store: VerificationStore, redis: Redis) -> None:
    await commit(store, ttl_ms=300)
    assert (await take(store, "c0")).outcome == "ok"
    await asyncio.sleep(0.5)
    assert (await take(store, "c1")).outcome == "missing"
    assert await redis.exists(store.phone_key(PHONE, "cur")) == 0
    record = await store.read(PHONE, VID)  # still readable for RETAIN_MS, and reads as expired
    assert record is not None
    assert record.effective_status(await redis_now_ms(redis)) is Status.EXPIRED
    assert await store.cancel(PHONE, VID) is False


# -- take_attempt -----------------------------------------------------------------------------------


async def test_take_attempt_spends_one_attempt(store: VerificationStore) -> None:
    await commit(store, max_attempts=5, code_hash="h")
    taken = await take(store, "c1")
    assert taken.outcome == "ok"
    assert taken.id == VID
    assert taken.gen == "1"
    assert taken.attempts_left == 4
    assert taken.code_hash == "h"
    assert taken.mode == "local"
    assert taken.provider == "gatum"
    record = await store.read(PHONE, VID)
    assert record is not None
    assert record.attempts_left == 4


async def test_a_code_of_the_wrong_length_costs_nothing(store: VerificationStore, redis: Redis) -> None:
    await commit(store, code_length=6)
    taken = await take(store, "c1", code_length=4)
    assert taken.outcome == "length"
    assert taken.code_length == 6
    record = await store.read(PHONE, VID)
    assert record is not None
    assert record.attempts_left == 5
    assert await redis.zcard(store.phone_key(PHONE, "fails")) == 0


async def test_a_full_failed_check_window_is_budget(store: VerificationStore) -> None:
    await commit(store, max_attempts=10)
    assert (await take(store, "c1", limit=2, window_ms=60_000)).outcome == "ok"
    assert (await take(store, "c2", limit=2, window_ms=60_000)).outcome == "ok"
    refused = await take(store, "c3", limit=2, window_ms=60_000)
    assert refused.outcome == "budget"
    assert 60_000 - SLACK_MS < refused.wait_ms <= 60_000
    record = await store.read(PHONE, VID)
    assert record is not None
    assert record.attempts_left == 8  # the refused check cost no attempt


async def test_take_attempt_for_another_id_is_missing(store: VerificationStore) -> None:
    await commit(store)
    assert (await take(store, "c1", expected_id="vf_other")).outcome == "missing"
    assert (await take(store, "c2", expected_id=VID)).outcome == "ok"


async def test_take_attempt_without_a_verification_is_missing(store: VerificationStore) -> None:
    assert (await take(store, "c1")).outcome == "missing"


async def test_no_attempt_is_given_after_the_last_one(store: VerificationStore) -> None:
    await commit(store, max_attempts=2)
    assert (await take(store, "c1")).attempts_left == 1
    assert (await take(store, "c2")).attempts_left == 0
    assert (await take(store, "c3")).outcome == "missing"


async def test_concurrent_attempts_are_counted_exactly(store: VerificationStore) -> None:
    await commit(store, max_attempts=5)
    results = await asyncio.gather(*(take(store, f"c{i}") for i in range(12)))
    ok = [r for r in results if r.outcome == "ok"]
    assert len(ok) == 5
    assert sorted(r.attempts_left for r in ok) == [0, 1, 2, 3, 4]
    assert all(r.outcome == "missing" for r in results if r.outcome != "ok")


# -- finish_check ---------------------------------------------------------------------------------


async def test_of_concurrent_right_checks_exactly_one_is_approved(store: VerificationStore, redis: Redis) -> None:
    await commit(store, max_attempts=10)
    taken = await asyncio.gather(*(take(store, f"c{i}") for i in range(8)))
    assert all(t.outcome == "ok" for t in taken)
    outcomes = await asyncio.gather(*(finish(store, t, "approved", f"c{i}") for i, t in enumerate(taken)))
    assert [o for o, _ in outcomes].count("approved") == 1
    assert all(o == "missing" for o, _ in outcomes if o != "approved")
    record = await store.read(PHONE, VID)
    assert record is not None
    assert record.status is Status.APPROVED
    assert record.finished_ms > 0
    assert await redis.exists(store.phone_key(PHONE, "cur")) == 0
    assert 0 < await redis.pttl(store.record_key(PHONE, VID)) <= RETAIN_MS
    assert await redis.zcard(store.phone_key(PHONE, "fails")) == 0  # right codes are not failed checks
    assert (await take(store, "again")).outcome == "missing"


async def test_a_wrong_code_reports_the_attempts_left(store: VerificationStore, redis: Redis) -> None:
    await commit(store, max_attempts=5)
    taken = await take(store, "c1")
    assert await finish(store, taken, "wrong", "c1") == ("wrong", 4)
    assert await redis.zcard(store.phone_key(PHONE, "fails")) == 1
    record = await store.read(PHONE, VID)
    assert record is not None
    assert record.status is Status.PENDING
    assert record.attempts_left == 4


async def test_the_wrong_code_using_the_last_attempt_kills_the_verification(
    store: VerificationStore, redis: Redis
) -> None:
    await commit(store, max_attempts=1)
    taken = await take(store, "c1")
    assert taken.attempts_left == 0
    assert await finish(store, taken, "wrong", "c1") == ("dead", 0)
    record = await store.read(PHONE, VID)
    assert record is not None
    assert record.status is Status.MAX_ATTEMPTS_REACHED
    assert record.attempts_left == 0
    assert await redis.exists(store.phone_key(PHONE, "cur")) == 0
    assert (await take(store, "c2")).outcome == "missing"


async def test_wrong_checks_finishing_in_any_order_kill_it_exactly_once(store: VerificationStore) -> None:
    await commit(store, max_attempts=2)
    first, last = await take(store, "c1"), await take(store, "c2")
    assert (first.attempts_left, last.attempts_left) == (1, 0)
    # The check that took the last attempt finishes first: it decides.
    assert await finish(store, last, "wrong", "c2") == ("dead", 0)
    # The earlier guess was charged and wrong: it reports the verification dead, and kills nothing twice.
    assert (await finish(store, first, "wrong", "c1"))[0] == "dead"
    record = await store.read(PHONE, VID)
    assert record is not None
    assert record.status is Status.MAX_ATTEMPTS_REACHED


async def test_a_right_code_checked_alongside_the_last_wrong_one_is_not_approved(store: VerificationStore) -> None:
    await commit(store, max_attempts=2)
    right, wrong = await take(store, "c1"), await take(store, "c2")
    assert await finish(store, wrong, "wrong", "c2") == ("dead", 0)
    assert (await finish(store, right, "approved", "c1"))[0] == "missing"


async def test_a_refund_gives_the_attempt_and_the_budget_back(store: VerificationStore, redis: Redis) -> None:
    await commit(store, max_attempts=5)
    taken = await take(store, "c1")
    assert await finish(store, taken, "refund", "c1") == ("refunded", 0)
    record = await store.read(PHONE, VID)
    assert record is not None
    assert record.attempts_left == 5
    assert await redis.zcard(store.phone_key(PHONE, "fails")) == 0


async def test_a_right_code_for_a_replaced_send_is_not_approved(store: VerificationStore) -> None:
    await commit(store)
    taken = await take(store, "c1")
    assert await commit(store, fresh=False) == "2"  # resend while the old code was being checked
    assert (await finish(store, taken, "approved", "c1"))[0] == "missing"
    record = await store.read(PHONE, VID)
    assert record is not None
    assert record.status is Status.PENDING


async def test_a_wrong_code_for_a_replaced_send_does_not_kill_the_new_one(store: VerificationStore) -> None:
    await commit(store, max_attempts=1)
    taken = await take(store, "c1")
    assert await commit(store, fresh=False, max_attempts=1) == "2"
    outcome, _ = await finish(store, taken, "wrong", "c1")
    assert outcome == "wrong"
    record = await store.read(PHONE, VID)
    assert record is not None
    assert record.status is Status.PENDING
    assert record.attempts_left == 1


async def test_vendor_expired_and_locked_outcomes_finish_the_verification(store: VerificationStore) -> None:
    await commit(store, vid="vf_expired")
    taken = await take(store, "c1")
    assert (await finish(store, taken, "expired", "c1", vid="vf_expired"))[0] == "missing"
    record = await store.read(PHONE, "vf_expired")
    assert record is not None
    assert record.status is Status.EXPIRED

    await commit(store, vid="vf_locked")
    taken = await take(store, "c2")
    assert taken.attempts_left > 0
    assert (await finish(store, taken, "locked", "c2", vid="vf_locked"))[0] == "dead"
    record = await store.read(PHONE, "vf_locked")
    assert record is not None
    assert record.status is Status.MAX_ATTEMPTS_REACHED
    assert record.attempts_left == 0


async def test_finish_for_an_unknown_record_is_missing(store: VerificationStore) -> None:
    outcome = await store.finish_check(PHONE, "vf_nope", gen="1", outcome="approved", token="c", attempts_left=3)
    assert outcome == ("missing", 0)


# -- cancel ---------------------------------------------------------------------------------------


async def test_cancel_finishes_a_pending_verification_once(store: VerificationStore, redis: Redis) -> None:
    await commit(store)
    assert await store.cancel(PHONE, VID) is True
    assert await store.cancel(PHONE, VID) is False
    record = await store.read(PHONE, VID)
    assert record is not None
    assert record.status is Status.CANCELED
    assert await redis.exists(store.phone_key(PHONE, "cur")) == 0
    assert 0 < await redis.pttl(store.record_key(PHONE, VID)) <= RETAIN_MS
    assert (await take(store, "c1")).outcome == "missing"


async def test_cancel_of_an_unknown_or_approved_verification_is_refused(store: VerificationStore) -> None:
    assert await store.cancel(PHONE, "vf_nope") is False
    await commit(store)
    taken = await take(store, "c1")
    assert (await finish(store, taken, "approved", "c1"))[0] == "approved"
    assert await store.cancel(PHONE, VID) is False


# -- delivery receipts ----------------------------------------------------------------------------


async def test_a_receipt_never_moves_delivery_backwards(store: VerificationStore) -> None:
    await commit(store, message_id="msg-1")
    kw: dict[str, Any] = {"provider": "gatum", "message_id": "msg-1"}
    assert await store.apply_receipt(PHONE, VID, status="sent", rank=1, **kw) is True
    assert await store.apply_receipt(PHONE, VID, status="delivered", rank=3, **kw) is True
    assert await store.apply_receipt(PHONE, VID, status="sent", rank=1, **kw) is False
    assert await store.apply_receipt(PHONE, VID, status="queued", rank=0, **kw) is False
    record = await store.read(PHONE, VID)
    assert record is not None
    assert record.delivery_status == "delivered"
    assert record.delivery_provider == "gatum"


async def test_a_receipt_for_an_earlier_message_is_ignored(store: VerificationStore) -> None:
    await commit(store, message_id="msg-2")
    stale = await store.apply_receipt(PHONE, VID, status="failed", provider="gatum", rank=4, message_id="msg-1")
    assert stale is False
    record = await store.read(PHONE, VID)
    assert record is not None
    assert record.delivery_status == "unknown"


async def test_a_receipt_matched_by_reference_without_message_id_applies(store: VerificationStore) -> None:
    await commit(store, message_id="msg-1")
    assert await store.apply_receipt(PHONE, VID, status="delivered", provider="wavy", rank=3, message_id="") is True
    record = await store.read(PHONE, VID)
    assert record is not None
    assert record.delivery_status == "delivered"


async def test_a_receipt_for_an_unknown_record_is_ignored(store: VerificationStore, redis: Redis) -> None:
    assert await store.apply_receipt(PHONE, "vf_nope", status="sent", provider="gatum", rank=1, message_id="m") is False
    assert await redis.exists(store.record_key(PHONE, "vf_nope")) == 0  # no half record created


# -- indexes, idempotency, settings ------------------------------------------------------------------


async def test_id_and_message_indexes_round_trip_with_a_ttl(store: VerificationStore, redis: Redis) -> None:
    await store.index(VID, PHONE, 600_000, [("gatum", "sent-42"), ("gatum", "ref-7")])
    assert await store.id_for_message("gatum", "ref-7") == VID
    assert await store.phone_for_id(VID) == PHONE
    assert await store.id_for_message("gatum", "sent-42") == VID
    assert await store.phone_for_id("vf_unknown") is None
    assert await store.id_for_message("wavy", "sent-42") is None
    for key in (store.id_key(VID), store.message_key("gatum", "sent-42")):
        assert 600_000 + RETAIN_MS - SLACK_MS < await redis.pttl(key) <= 600_000 + RETAIN_MS


async def test_idempotency_entry_lifecycle(store: VerificationStore) -> None:
    assert await store.idempotency_begin(PHONE, "d1", "fp-a", 60_000) == ("new", "")
    assert await store.idempotency_begin(PHONE, "d1", "fp-a", 60_000) == ("busy", "fp-a")
    await store.idempotency_abort(PHONE, "d1", "fp-other")  # not ours: stays
    assert (await store.idempotency_begin(PHONE, "d1", "fp-a", 60_000))[0] == "busy"
    await store.idempotency_abort(PHONE, "d1", "fp-a")
    assert await store.idempotency_begin(PHONE, "d1", "fp-a", 60_000) == ("new", "")
    await store.idempotency_commit(PHONE, "d1", b'{"id":"vf_1"}', 60_000)
    assert await store.idempotency_begin(PHONE, "d1", "fp-a", 60_000) == ("done", '{"id":"vf_1"}')


async def test_settings_swap_is_compare_and_set(store: VerificationStore) -> None:
    assert await store.load_settings() is None
    doc1 = json.dumps({"version": 1, "settings": {}}).encode()
    assert await store.swap_settings(0, doc1, [b'{"field":"a"}']) is True
    assert await store.swap_settings(0, doc1, [b'{"field":"b"}']) is False  # lost the race: nothing written
    assert await store.load_settings() == doc1
    assert await store.audit_log(10) == [b'{"field":"a"}']


# -- cluster slots --------------------------------------------------------------------------------


async def test_every_key_of_one_phone_number_is_in_one_cluster_slot(store: VerificationStore, redis: Redis) -> None:
    seen: set[str] = set()

    async def snapshot() -> None:
        seen.update(k.decode() for k in await redis.keys("*{+34600100200}*"))

    assert (await begin(store, "t1")).outcome == "ok"
    await snapshot()  # the in-flight lock only lives between begin and commit
    await commit(store, lock_token="t1", cooldown_ms=30_000)
    await snapshot()
    taken = await take(store, "c1")
    await finish(store, taken, "wrong", "c1")
    await store.idempotency_begin(PHONE, "digest", "fp", 60_000)
    await commit(store, vid="vf_second")
    await snapshot()

    parts = {k.split("}:", 1)[1] for k in seen}
    assert parts == {"cur", "sends", "fails", "cooldown", "sending", f"vf:{VID}", "vf:vf_second", "idem:digest"}
    assert {key_slot(k.encode()) for k in seen} == {key_slot(PHONE.encode())}
    # Nothing about this number was written outside its hash tag.
    assert all("{+34600100200}" in k.decode() for k in await redis.keys("*34600100200*"))


async def test_index_and_window_keys_hash_by_their_own_tag(store: VerificationStore) -> None:
    assert key_slot(store.id_key(VID).encode()) == key_slot(VID.encode())
    assert key_slot(store.id_key(VID).encode()) == key_slot(f"otp:{{{VID}}}:anything".encode())
    message = store.message_key("gatum", "sent-42")
    assert key_slot(message.encode()) == key_slot(b"msg:gatum:sent-42")
    assert key_slot(store.window_key("client", "web").encode()) == key_slot(b"client:web")
    assert key_slot(store.window_key("ip", "203.0.113.7").encode()) == key_slot(b"ip:203.0.113.7")
    assert key_slot(store.settings_key.encode()) == key_slot(store.audit_key.encode())


async def test_record_keys_share_the_phone_numbers_slot(store: VerificationStore) -> None:
    for phone in (PHONE, OTHER_PHONE, "+16502530000"):
        tag_slot = key_slot(phone.encode())
        assert key_slot(store.record_key(phone, VID).encode()) == tag_slot
        assert key_slot(store.record_key(phone, "vf_zzzzzzzzzzzzzz").encode()) == tag_slot
        assert key_slot(store.phone_key(phone, "cur").encode()) == tag_slot


class SlowToCleanUp:
    """A Redis client whose GET never answers and, once cancelled, takes a while to close its
    connections (what redis-py's cluster client does after a failed topology read)."""

    def __init__(self, redis: Redis, cleanup_s: float) -> None:
        self.redis = redis
        self.cleanup_s = cleanup_s
        self.cleaned_up = asyncio.Event()

    def register_script(self, source: str) -> Any:
        return self.redis.register_script(source)

    async def get(self, key: str) -> bytes | None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            await asyncio.sleep(self.cleanup_s)
            self.cleaned_up.set()
            raise
        return None


async def test_a_store_call_gives_up_at_its_deadline_even_if_the_client_cleans_up_slowly(redis: Redis) -> None:
    client = SlowToCleanUp(redis, cleanup_s=1.0)
    store = VerificationStore(client, deadline_s=0.2)  # type: ignore[arg-type]
    started = asyncio.get_running_loop().time()
    with pytest.raises(StoreUnavailable):
        await store.load_settings()
    assert asyncio.get_running_loop().time() - started < 0.6  # not 0.2 + the 1 s clean-up
    assert not client.cleaned_up.is_set()
    await asyncio.wait_for(client.cleaned_up.wait(), 5)  # ... which still ran, in the background


async def test_a_store_call_that_answers_in_time_returns_its_answer_under_a_deadline(redis: Redis) -> None:
    store = VerificationStore(redis, deadline_s=1.0)
    await redis.set(store.settings_key, b'{"version": 3}')
    assert await store.load_settings() == b'{"version": 3}'
