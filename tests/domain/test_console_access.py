"""The console's sign-in limit and sessions, against a real Redis server."""

from __future__ import annotations

import asyncio

import pytest
from redis.asyncio import Redis

from otp_service.domain.admin_sessions import AdminSessions
from otp_service.domain.errors import RateLimited
from otp_service.domain.redis_store import RedisStore
from otp_service.domain.signin_limit import SignInLimit


async def test_a_full_address_window_refuses_that_address_only(redis_store: RedisStore) -> None:
    limit = SignInLimit(redis_store, per_address=2, overall=10, window_s=60)
    await limit.attempt("10.0.0.1")
    await limit.attempt("10.0.0.1")
    with pytest.raises(RateLimited) as refused:
        await limit.attempt("10.0.0.1")
    assert 0 < refused.value.retry_after_s <= 60
    await limit.attempt("10.0.0.2")


async def test_a_refused_attempt_charges_neither_window(redis_store: RedisStore, redis: Redis) -> None:
    limit = SignInLimit(redis_store, per_address=1, overall=2, window_s=60)
    await limit.attempt("10.0.0.1")
    with pytest.raises(RateLimited):
        await limit.attempt("10.0.0.1")
    await limit.attempt("10.0.0.2")  # the refused attempt above took no slot of the global window
    with pytest.raises(RateLimited):
        await limit.attempt("10.0.0.3")  # global window full
    assert await redis.zcard(redis_store.keys.signin_window("10.0.0.3")) == 0


async def test_parallel_attempts_never_pass_more_than_the_limit(redis_store: RedisStore) -> None:
    limit = SignInLimit(redis_store, per_address=5, overall=100, window_s=60)
    results = await asyncio.gather(*(limit.attempt("10.0.0.1") for _ in range(20)), return_exceptions=True)
    assert sum(result is None for result in results) == 5


async def test_a_session_names_its_admin_until_it_ends(redis_store: RedisStore, redis: Redis) -> None:
    sessions = AdminSessions(redis_store)
    session = await sessions.start("alice")
    assert await sessions.admin_of(session) == "alice"
    assert session not in str(await redis.keys("*"))  # only its digest is stored
    await sessions.end(session)
    assert await sessions.admin_of(session) is None


async def test_a_session_ends_after_its_idle_time(redis_store: RedisStore) -> None:
    sessions = AdminSessions(redis_store, idle_s=1)
    session = await sessions.start("alice")
    await asyncio.sleep(1.2)
    assert await sessions.admin_of(session) is None


async def test_a_session_ends_at_its_maximum_age_however_busy(redis_store: RedisStore) -> None:
    sessions = AdminSessions(redis_store, max_age_s=0)
    session = await sessions.start("alice")
    await asyncio.sleep(0.01)
    assert await sessions.admin_of(session) is None


async def test_an_unknown_or_oversized_session_id_is_no_session(redis_store: RedisStore) -> None:
    sessions = AdminSessions(redis_store)
    assert await sessions.admin_of("nope") is None
    assert await sessions.admin_of("x" * 10_000) is None
    assert await sessions.admin_of(None) is None
