"""Builds the Redis client from ``OTP_REDIS_URL``: a single server or a Redis Cluster.

Every call has a socket timeout, so a hung Redis turns into a 503 within ``OTP_REDIS_TIMEOUT_S``
instead of a request that never ends; connections are re-made on the next call, so the service
recovers on its own when Redis comes back.
"""

from __future__ import annotations

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff

from .domain.store import AnyRedis

__all__ = ("make_redis",)


def make_redis(url: str, *, timeout_s: float) -> AnyRedis:
    retry = Retry(ExponentialBackoff(cap=0.2, base=0.02), retries=1)
    if url.startswith("redis+cluster://"):
        return RedisCluster.from_url(
            "redis://" + url.removeprefix("redis+cluster://"),
            socket_timeout=timeout_s,
            socket_connect_timeout=timeout_s,
            retry=retry,
        )
    return Redis.from_url(
        url,
        socket_timeout=timeout_s,
        socket_connect_timeout=timeout_s,
        retry=retry,
        health_check_interval=30,
    )
