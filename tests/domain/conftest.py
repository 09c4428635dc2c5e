"""Each Redis store over one ``RedisStore`` on the test server (flushed per test)."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from otp_service.domain.idempotency_store import IdempotencyStore
from otp_service.domain.redis_store import RedisStore
from otp_service.domain.settings_store import SettingsStore
from otp_service.domain.verification_store import VerificationStore
from otp_service.domain.windows import LimitWindows


@pytest.fixture
def redis_store(redis: Redis) -> RedisStore:
    return RedisStore(redis)


@pytest.fixture
def store(redis_store: RedisStore) -> VerificationStore:
    return VerificationStore(redis_store)


@pytest.fixture
def windows(redis_store: RedisStore) -> LimitWindows:
    return LimitWindows(redis_store)


@pytest.fixture
def idempotency(redis_store: RedisStore) -> IdempotencyStore:
    return IdempotencyStore(redis_store)


@pytest.fixture
def settings_store(redis_store: RedisStore) -> SettingsStore:
    return SettingsStore(redis_store)
