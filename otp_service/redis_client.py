"""Builds the Redis client from ``OTP_REDIS_URL``: a single server or a Redis Cluster.

Every call has a socket timeout, so a hung Redis turns into a 503 within ``OTP_REDIS_TIMEOUT_S``
instead of a request that never ends; connections are re-made on the next call, so the service
recovers on its own when Redis comes back.
"""

from __future__ import annotations

from redis import exceptions
from redis.asyncio import ConnectionPool, Redis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.connection import AbstractConnection
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff

from .domain.redis_store import AnyRedis

__all__ = ("call_deadline_s", "make_redis")


class _Cluster(RedisCluster):
    """redis-py's cluster client, minus re-sending a command that timed out (see :func:`make_redis`)."""

    ERRORS_ALLOW_RETRY = (  # type: ignore[assignment]
        exceptions.ConnectionError,
        exceptions.ClusterDownError,
        exceptions.SlotNotCoveredError,
    )


class _Pool(ConnectionPool):
    """redis-py's pool, taking and returning a connection without its per-call extras.

    Each call took an asyncio lock twice, awaited three connection-count recordings (redis-py's
    OpenTelemetry hooks, which this service does not switch on) and dispatched a "connection
    released" event (for credential providers that re-authenticate, which it does not use): about
    8 us of a Redis call's 30 (issue 14). Nothing awaits between taking a connection off the list
    and marking it in use, so on one event loop no lock is needed. Connecting, the check that a
    pooled connection has nothing unread, and disconnecting are redis-py's own.
    """

    async def get_connection(self, command_name: object = None, *keys: object, **options: object) -> AbstractConnection:
        try:
            connection = self._available_connections.pop()
        except IndexError:
            if len(self._in_use_connections) >= self.max_connections:
                raise exceptions.MaxConnectionsError("Too many connections") from None
            connection = self.make_connection()  # type: ignore[no-untyped-call]
        self._in_use_connections.add(connection)
        try:
            await self.ensure_connection(connection)
        except BaseException:
            await self.release(connection)
            raise
        return connection

    async def release(self, connection: AbstractConnection) -> None:
        self._in_use_connections.remove(connection)
        if connection.should_reconnect():  # type: ignore[no-untyped-call]
            await connection.disconnect()
        self._available_connections.append(connection)


def make_redis(url: str, *, timeout_s: float) -> AnyRedis:
    # One retry on a connection error (a pooled connection that a Redis restart closed), never on a
    # timeout: a command that timed out may still run once Redis wakes up, and running a script twice
    # would charge an attempt twice or refuse a send as "busy" with its own lock. It also keeps a
    # stalled Redis at one timeout per call (retrying doubled it, and doubled it again on connect).
    retry = Retry(ExponentialBackoff(cap=0.2, base=0.02), retries=1, supported_errors=(exceptions.ConnectionError,))
    if url.startswith("redis+cluster://"):
        return _Cluster.from_url(
            "redis://" + url.removeprefix("redis+cluster://"),
            socket_timeout=timeout_s,
            socket_connect_timeout=timeout_s,
            retry=retry,
        )
    # No socket timeout on the single-server client: the store bounds each call as a whole (see
    # call_deadline_s), and redis-py runs every command's write in a task of its own under
    # asyncio.wait_for when a socket timeout is set, plus a timeout around each read: both per call,
    # about a tenth of a check's CPU (issue 14). Connecting keeps its own timeout.
    pool = _Pool.from_url(
        url,
        socket_timeout=None,
        socket_connect_timeout=timeout_s,
        retry=retry,
        health_check_interval=30,
    )
    return Redis.from_pool(pool)  # the client owns the pool: closing it closes the connections


def call_deadline_s(client: AnyRedis, timeout_s: float) -> float:
    """How long one store call may take in all before it answers 503: ``OTP_REDIS_TIMEOUT_S`` on a
    single server; twice that on a cluster, whose client may wait on a socket more than once in one
    call (it re-reads the topology after a timeout)."""
    return 2 * timeout_s if isinstance(client, RedisCluster) else timeout_s
