"""The API suite runs twice: against a single Redis and against a real 3-master Redis Cluster.

Every test that reaches Redis through the ``settings`` / ``redis`` / ``client`` / ``server`` fixtures
gets a ``[single]`` and a ``[cluster]`` variant (``test_x[cluster]``); the cluster is started once,
lazily, the first time a ``[cluster]`` test needs it, and stopped at the end of the session.
Tests that build their own app from ``redis_server`` (a single server by definition) run once, as
``[single]``.

On the cluster, ``settings`` points the app at ``redis+cluster://127.0.0.1:<port>`` (the app builds
redis-py's cluster client from it) and ``redis`` is a ``redis.asyncio.RedisCluster`` with every
primary flushed. Commands on a key route to the key's slot; commands on no key (``KEYS``) must name
their nodes: use :func:`tests.api.helpers.all_keys`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis, RedisCluster

from otp_service.devredis import RedisProcess
from otp_service.settings import Settings
from tests.cluster import RedisClusterProcess
from tests.conftest import Vendors, build_app, make_settings

BACKENDS = ("single", "cluster")


@dataclass(frozen=True)
class Backend:
    kind: str  # single | cluster
    url: str  # OTP_REDIS_URL
    host: str
    port: int
    cluster: RedisClusterProcess | None = None


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "redis_backend" not in metafunc.fixturenames:
        return
    kinds = ["single"] if "redis_server" in metafunc.fixturenames else list(BACKENDS)
    # Session scope: pytest groups the tests by backend, so the cluster is set up once.
    metafunc.parametrize("redis_backend", kinds, indirect=True, ids=kinds, scope="session")


@pytest.fixture(scope="session")
def redis_cluster() -> Iterator[RedisClusterProcess]:
    with RedisClusterProcess(masters=3) as cluster:
        yield cluster


@pytest.fixture(scope="session")
def redis_backend(request: pytest.FixtureRequest) -> Backend:
    if request.param == "cluster":
        cluster: RedisClusterProcess = request.getfixturevalue("redis_cluster")
        return Backend("cluster", cluster.url, "127.0.0.1", cluster.port, cluster)
    server = request.getfixturevalue("redis_server")
    return Backend("single", server.url, "127.0.0.1", server.port)


@pytest.fixture
def settings(redis_backend: Backend) -> Settings:
    return make_settings(OTP_REDIS_URL=redis_backend.url)


@pytest.fixture
async def redis(redis_backend: Backend) -> AsyncIterator[Redis | RedisCluster]:
    """A client on the test's backend with everything flushed (every primary, on the cluster)."""
    client: Redis | RedisCluster
    if redis_backend.kind == "cluster":
        assert redis_backend.cluster is not None
        redis_backend.cluster.flush()  # cheaper than a cluster client's discovery in every test
        client = RedisCluster(host=redis_backend.host, port=redis_backend.port)  # connects on first use
    else:
        client = Redis.from_url(redis_backend.url)
        await client.flushdb()
    yield client
    await client.aclose()


@pytest.fixture
def app_with(redis_server: RedisProcess, redis: object, vendors: Vendors) -> Callable[..., Any]:
    """An app built from production settings with the given environment overrides."""

    @asynccontextmanager
    async def make(**env: str) -> AsyncIterator[AsyncTestClient[Litestar]]:
        settings = make_settings(OTP_REDIS_URL=redis_server.url, **env)
        async with AsyncTestClient(build_app(settings, vendors)) as client:
            yield client

    return make
