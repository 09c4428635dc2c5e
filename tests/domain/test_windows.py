"""The send-side limit windows (LimitWindows), against a real Redis server."""

from __future__ import annotations

import asyncio

import pytest
from redis.asyncio import Redis

from otp_service.domain.errors import StoreUnavailable
from otp_service.domain.verification_store import VerificationStore
from otp_service.domain.windows import BeginOutcome, LimitWindows

from .stores import KEYS, LOCK_MS, OTHER_PHONE, PHONE, SLACK_MS, VID, begin, commit, redis_now_ms

# -- begin_send -----------------------------------------------------------------------------------


async def test_begin_send_reserves_a_send_and_takes_the_lock(windows: LimitWindows, redis: Redis) -> None:
    result = await begin(windows, "t1")
    assert result.outcome is BeginOutcome.OK
    assert result.current_id == ""
    assert abs(result.now_ms - await redis_now_ms(redis)) < SLACK_MS
    assert await redis.get(KEYS.sending(PHONE)) == b"t1"
    assert 0 < await redis.pttl(KEYS.sending(PHONE)) <= LOCK_MS
    assert await redis.zrange(KEYS.sends(PHONE), 0, -1) == [b"t1"]


async def test_begin_send_while_a_send_is_in_flight_is_busy(windows: LimitWindows, redis: Redis) -> None:
    assert (await begin(windows, "t1")).outcome is BeginOutcome.OK
    busy = await begin(windows, "t2")
    assert busy.outcome is BeginOutcome.BUSY
    assert LOCK_MS - SLACK_MS < busy.wait_ms <= LOCK_MS
    # A refused attempt costs nothing from the send window.
    assert await redis.zcard(KEYS.sends(PHONE)) == 1


async def test_abort_send_gives_back_the_reservation_and_the_lock(windows: LimitWindows, redis: Redis) -> None:
    assert (await begin(windows, "t1", limit=1)).outcome is BeginOutcome.OK
    await windows.abort_send(PHONE, "t1")
    assert await redis.exists(KEYS.sending(PHONE)) == 0
    assert await redis.zcard(KEYS.sends(PHONE)) == 0
    assert (await begin(windows, "t2", limit=1)).outcome is BeginOutcome.OK


async def test_abort_with_another_token_leaves_the_lock_alone(windows: LimitWindows, redis: Redis) -> None:
    assert (await begin(windows, "t1")).outcome is BeginOutcome.OK
    await windows.abort_send(PHONE, "someone-else")
    assert await redis.get(KEYS.sending(PHONE)) == b"t1"
    assert (await begin(windows, "t2")).outcome is BeginOutcome.BUSY


async def test_commit_releases_the_lock_and_starts_the_cooldown(
    store: VerificationStore, windows: LimitWindows, redis: Redis
) -> None:
    assert (await begin(windows, "t1")).outcome is BeginOutcome.OK
    assert await commit(store, redis, lock_token="t1", cooldown_ms=30_000) == "1"
    assert await redis.exists(KEYS.sending(PHONE)) == 0
    cooldown = await begin(windows, "t2")
    assert cooldown.outcome is BeginOutcome.COOLDOWN
    assert 30_000 - SLACK_MS < cooldown.wait_ms <= 30_000


async def test_zero_cooldown_allows_an_immediate_resend(
    store: VerificationStore, windows: LimitWindows, redis: Redis
) -> None:
    assert (await begin(windows, "t1")).outcome is BeginOutcome.OK
    await commit(store, redis, lock_token="t1", cooldown_ms=0)
    assert await redis.exists(KEYS.cooldown(PHONE)) == 0
    again = await begin(windows, "t2")
    assert again.outcome is BeginOutcome.OK
    assert again.current_id == VID


async def test_the_send_limit_refuses_with_the_exact_wait(
    store: VerificationStore, windows: LimitWindows, redis: Redis
) -> None:
    for token in ("t1", "t2"):
        assert (await begin(windows, token, limit=2, window_ms=60_000)).outcome is BeginOutcome.OK
        await commit(store, redis, vid=f"vf_{token}", lock_token=token)
        await redis.delete(KEYS.current(PHONE))
    limited = await begin(windows, "t3", limit=2, window_ms=60_000)
    assert limited.outcome is BeginOutcome.LIMIT
    assert 60_000 - SLACK_MS < limited.wait_ms <= 60_000
    assert await redis.exists(KEYS.sending(PHONE)) == 0  # a refused send takes no lock


async def test_the_send_window_slides(store: VerificationStore, windows: LimitWindows, redis: Redis) -> None:
    assert (await begin(windows, "t1", limit=1, window_ms=300)).outcome is BeginOutcome.OK
    await commit(store, redis, lock_token="t1")
    assert (await begin(windows, "t2", limit=1, window_ms=300)).outcome is BeginOutcome.LIMIT
    await asyncio.sleep(0.35)
    assert (await begin(windows, "t3", limit=1, window_ms=300)).outcome is BeginOutcome.OK


async def test_send_windows_are_per_phone_number(windows: LimitWindows) -> None:
    assert (await begin(windows, "t1", limit=1)).outcome is BeginOutcome.OK
    assert (await begin(windows, "t2", phone=OTHER_PHONE, limit=1)).outcome is BeginOutcome.OK


# -- reserve / refund -----------------------------------------------------------------------------


async def test_reserve_passes_exactly_the_limit(windows: LimitWindows) -> None:
    results = [await windows.reserve("client", "web", limit=3, window_ms=60_000, token=f"t{i}") for i in range(6)]
    assert results[:3] == [0, 0, 0]
    assert all(60_000 - SLACK_MS < wait <= 60_000 for wait in results[3:])


async def test_reserve_is_exact_under_fifty_concurrent_requests(windows: LimitWindows, redis: Redis) -> None:
    results = await asyncio.gather(
        *(windows.reserve("ip", "203.0.113.7", limit=10, window_ms=60_000, token=f"t{i}") for i in range(50))
    )
    assert results.count(0) == 10
    assert all(wait > 0 for wait in results if wait)
    assert await redis.zcard(KEYS.window("ip", "203.0.113.7")) == 10


async def test_refund_frees_exactly_one_slot(windows: LimitWindows) -> None:
    for i in range(2):
        assert await windows.reserve("client", "web", limit=2, window_ms=60_000, token=f"t{i}") == 0
    assert await windows.reserve("client", "web", limit=2, window_ms=60_000, token="t2") > 0
    await windows.refund("client", "web", "t0")
    await windows.refund("client", "web", "never-reserved")
    assert await windows.reserve("client", "web", limit=2, window_ms=60_000, token="t3") == 0
    assert await windows.reserve("client", "web", limit=2, window_ms=60_000, token="t4") > 0


async def test_refunds_under_concurrency_never_let_more_than_the_limit_in(windows: LimitWindows) -> None:
    first = await asyncio.gather(
        *(windows.reserve("client", "web", limit=5, window_ms=60_000, token=f"a{i}") for i in range(20))
    )
    assert first.count(0) == 5
    await asyncio.gather(*(windows.refund("client", "web", f"a{i}") for i in range(20)))
    second = await asyncio.gather(
        *(windows.reserve("client", "web", limit=5, window_ms=60_000, token=f"b{i}") for i in range(20))
    )
    assert second.count(0) == 5


async def test_reserve_wait_is_when_the_oldest_entry_leaves(windows: LimitWindows) -> None:
    assert await windows.reserve("client", "web", limit=1, window_ms=400, token="t0") == 0
    await asyncio.sleep(0.2)
    wait = await windows.reserve("client", "web", limit=1, window_ms=400, token="t1")
    assert 0 < wait <= 210
    await asyncio.sleep((wait + 30) / 1000)
    assert await windows.reserve("client", "web", limit=1, window_ms=400, token="t2") == 0


async def test_windows_are_separate_per_kind_and_identity(windows: LimitWindows) -> None:
    assert await windows.reserve("client", "web", limit=1, window_ms=60_000, token="t") == 0
    assert await windows.reserve("client", "mobile", limit=1, window_ms=60_000, token="t") == 0
    assert await windows.reserve("ip", "web", limit=1, window_ms=60_000, token="t") == 0
    assert await windows.reserve("client", "web", limit=1, window_ms=60_000, token="u") > 0


async def test_a_window_key_expires_with_its_window(windows: LimitWindows, redis: Redis) -> None:
    await windows.reserve("client", "web", limit=5, window_ms=60_000, token="t")
    assert 0 < await redis.pttl(KEYS.window("client", "web")) <= 60_000


# -- a send given up while Redis stalled ------------------------------------------------------------


async def test_a_begin_send_that_arrives_after_its_abort_takes_nothing(windows: LimitWindows, redis: Redis) -> None:
    """A send whose script reached a stalled Redis answers 503 and is released; the script may run
    after the release when Redis wakes up, and must then take neither a slot nor the lock."""
    await windows.abort_send(PHONE, "late")
    with pytest.raises(StoreUnavailable):
        await begin(windows, "late", limit=1)
    assert await redis.exists(KEYS.sending(PHONE)) == 0
    assert await redis.zcard(KEYS.sends(PHONE)) == 0
    assert (await begin(windows, "next", limit=1)).outcome is BeginOutcome.OK
    assert await redis.pttl(KEYS.token(PHONE, "late")) > 0  # the marker goes away by itself


async def test_aborting_a_send_twice_is_harmless(windows: LimitWindows, redis: Redis) -> None:
    assert (await begin(windows, "t1")).outcome is BeginOutcome.OK
    await windows.abort_send(PHONE, "t1")
    await windows.abort_send(PHONE, "t1")
    assert await redis.zcard(KEYS.sends(PHONE)) == 0
    assert (await begin(windows, "t2")).outcome is BeginOutcome.OK


async def test_a_reservation_that_arrives_after_its_refund_takes_nothing(windows: LimitWindows, redis: Redis) -> None:
    await windows.refund("ip", "192.0.2.1", "late")
    with pytest.raises(StoreUnavailable):
        await windows.reserve("ip", "192.0.2.1", limit=1, window_ms=60_000, token="late")
    assert await redis.zcard(KEYS.window("ip", "192.0.2.1")) == 0
    assert await windows.reserve("ip", "192.0.2.1", limit=1, window_ms=60_000, token="next") == 0


async def test_a_commit_that_arrives_after_its_abort_stores_nothing(
    store: VerificationStore, windows: LimitWindows, redis: Redis
) -> None:
    assert (await begin(windows, "t1")).outcome is BeginOutcome.OK
    await windows.abort_send(PHONE, "t1")
    assert await commit(store, redis, lock_token="t1", cooldown_ms=30_000) is None
    assert await redis.exists(KEYS.current(PHONE), KEYS.cooldown(PHONE)) == 0
    assert (await begin(windows, "t2")).outcome is BeginOutcome.OK
