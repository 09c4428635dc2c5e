"""The WhatsApp fallback's atomic steps (domain/fallback.py): a deadline fires on exactly one replica,
and a verification falls back at most once, whichever of receipt and deadline comes first."""

from __future__ import annotations

import asyncio
import time

import pytest

from otp_service.domain.breaker import Breakers
from otp_service.domain.codes import CodeHasher
from otp_service.domain.dispatcher import Dispatcher
from otp_service.domain.fallback import WhatsappFallback
from otp_service.domain.policy import LiveSettings
from otp_service.domain.redis_store import RedisStore, as_text
from otp_service.domain.verification_store import VerificationStore
from providers import Providers

NUMBER = "+34600100200"
VID = "vf_" + "0" * 32


async def sweep(store: RedisStore) -> list[str]:
    due = await store.script(store.scripts.fallback_sweep, [store.keys.fallback_due], [100])
    return [as_text(m) for m in due]


async def test_a_due_deadline_is_claimed_by_exactly_one_of_many_concurrent_sweeps(redis_store: RedisStore) -> None:
    s = redis_store
    await s.script(s.scripts.fallback_arm, [s.keys.fallback_due], [f"{VID}|{NUMBER}", 0])
    results = await asyncio.gather(*(sweep(s) for _ in range(8)))
    assert sorted(m for r in results for m in r) == [f"{VID}|{NUMBER}"]
    assert await sweep(s) == []


async def test_a_deadline_not_yet_due_stays_for_a_later_sweep(redis_store: RedisStore) -> None:
    s = redis_store
    await s.script(s.scripts.fallback_arm, [s.keys.fallback_due], [f"{VID}|{NUMBER}", 60_000])
    assert await sweep(s) == []
    assert await s.redis.zcard(s.keys.fallback_due) == 1


async def _record(s: RedisStore, **fields: str) -> str:
    key = s.keys.record(NUMBER, VID)
    expires = str(int(time.time() * 1000) + 600_000)
    base = {"id": VID, "to": NUMBER, "status": "pending", "expires_ms": expires, "channel": "whatsapp", "gen": "1"}
    await s.redis.hset(key, mapping={**base, "delivery_status": "queued", **fields})
    return key


async def claim(s: RedisStore, key: str, reason: str) -> bool:
    return as_text((await s.script(s.scripts.fallback_claim, [key], [reason]))[0]) == "ok"


async def test_a_receipt_and_a_deadline_at_once_make_one_fallback(redis_store: RedisStore) -> None:
    key = await _record(redis_store)
    won = await asyncio.gather(*(claim(redis_store, key, r) for r in ("undelivered", "no_receipt") * 3))
    assert won.count(True) == 1


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"delivery_status": "delivered"}, "no_receipt"),
        ({"delivery_status": "delivered"}, "undelivered"),
        ({"channel": "sms"}, "undelivered"),
        ({"status": "approved"}, "no_receipt"),
        ({"expires_ms": "1"}, "no_receipt"),
        ({"fallback_state": "done"}, "undelivered"),
    ],
    ids=["delivered-deadline", "delivered-late-receipt", "already-sms", "approved", "expired", "fallen-back"],
)
async def test_nothing_falls_back_that_is_delivered_finished_or_already_sms(
    redis_store: RedisStore, fields: dict[str, str], reason: str
) -> None:
    key = await _record(redis_store, **fields)
    assert await claim(redis_store, key, reason) is False


async def test_the_commit_moves_gen_on_so_a_check_of_the_old_code_cannot_settle(redis_store: RedisStore) -> None:
    s = redis_store
    key = await _record(s)
    assert await claim(s, key, "undelivered")
    done = await s.script(s.scripts.fallback_commit, [key], ["done", "channel", "sms", "provider", "gatum"])
    assert done == 1
    stored = {as_text(k): as_text(v) for k, v in (await s.redis.hgetall(key)).items()}
    assert (stored["channel"], stored["provider"], stored["gen"], stored["fallback_state"]) == (
        "sms",
        "gatum",
        "2",
        "done",
    )
    assert stored["fallback_reason"] == "undelivered"


async def test_an_idle_replica_takes_up_deadlines_a_stopped_replica_left(store: VerificationStore) -> None:
    """Nothing armed here, and nothing waiting when the sweeper started: a deadline another replica
    leaves later is still found on the idle check and swept."""
    s = store.redis_store
    fallback = WhatsappFallback(store, Dispatcher(Providers(), Breakers()), CodeHasher(b"p" * 32), _no_settings)
    stop = asyncio.Event()
    sweeper = asyncio.create_task(fallback.run_sweeper(stop, interval_s=0.05, idle_check_s=0.1))
    try:
        await asyncio.sleep(0.2)  # the sweeper has looked and found nothing
        assert not fallback.active.is_set()
        await s.script(s.scripts.fallback_arm, [s.keys.fallback_due], [f"{VID}|{NUMBER}", 0])
        await asyncio.wait_for(fallback.active.wait(), 5)
        for _ in range(100):
            if not await s.redis.zcard(s.keys.fallback_due):
                break
            await asyncio.sleep(0.05)
        assert await s.redis.zcard(s.keys.fallback_due) == 0
    finally:
        stop.set()
        await sweeper


async def _no_settings(client: str) -> LiveSettings:
    raise AssertionError("no verification record: nothing to fall back")
