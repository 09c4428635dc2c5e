"""The service's Redis client: its pool hands out and takes back connections without redis-py's
per-call extras, and still reuses, bounds and closes them (``otp_service/redis_client.py``)."""

from __future__ import annotations

import asyncio

import pytest
from redis.exceptions import MaxConnectionsError

from otp_service.devredis import RedisProcess
from otp_service.redis_client import call_deadline_s, make_redis


async def test_connections_are_reused_and_closed_with_the_client(redis_server: RedisProcess) -> None:
    client = make_redis(redis_server.url, timeout_s=2)
    pool = client.connection_pool
    await asyncio.gather(*(client.set(f"pool:{i}", i) for i in range(20)))
    made = len(pool._available_connections)
    assert 1 <= made <= 20 and len(pool._in_use_connections) == 0
    await asyncio.gather(*(client.get(f"pool:{i}") for i in range(made)))
    assert len(pool._available_connections) == made  # no new connection for as many calls
    connections = list(pool._available_connections)
    await client.aclose()
    assert not any(c.is_connected for c in connections)


async def test_the_pool_is_bounded(redis_server: RedisProcess) -> None:
    client = make_redis(redis_server.url, timeout_s=2)
    client.connection_pool.max_connections = 2
    try:
        with pytest.raises(MaxConnectionsError):
            await asyncio.gather(*(client.blpop([f"pool:empty:{i}"], timeout=0.2) for i in range(3)))
    finally:
        await client.aclose()


def test_a_single_server_call_has_the_timeout_a_cluster_call_twice(redis_server: RedisProcess) -> None:
    client = make_redis(redis_server.url, timeout_s=1.5)
    assert call_deadline_s(client, 1.5) == 1.5
    cluster = make_redis("redis+cluster://127.0.0.1:1", timeout_s=1.5)
    assert call_deadline_s(cluster, 1.5) == 3.0
