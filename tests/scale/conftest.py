"""Fixtures of the scale and failure tests: real processes, always stopped in teardown."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest

from otp_service.devredis import RedisProcess
from tests.cluster import RedisClusterProcess
from tests.scale.backends import Backend
from tests.scale.procs import Service, service_env


@pytest.fixture(autouse=True)
def collector_paused() -> Iterator[None]:
    """These tests time the service from this process. A full collection of this process's heap held
    the interpreter for 0.37 s on a loaded machine, every probe with it (most likely the 0.35 s
    /health/live that once failed the stall test on CI), so the collector waits until the test is over."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


class Pair:
    """One Redis and two ``otp-service serve`` processes sharing it: ``a`` (--workers 2) and ``b``."""

    def __init__(self, redis: RedisProcess, a: Service, b: Service) -> None:
        self.redis, self.a, self.b = redis, a, b

    @property
    def urls(self) -> list[str]:
        return [self.a.url, self.b.url]


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    workdir: Path = tmp_path_factory.mktemp("pair")
    redis = RedisProcess(data_dir=workdir / "redis")
    # Settings are read from Redis on every request (no cache), so a PATCH reaches both at once.
    env = service_env(redis.url, OTP_TEST_NUMBERS="enabled", OTP_SETTINGS_CACHE_S="0")
    a = Service(env, workdir=workdir, workers=2, name="a")
    b = Service(env, workdir=workdir, workers=1, name="b")
    try:
        redis.start()
        a.launch()
        b.launch()
        a.wait_ready()
        b.wait_ready()
        yield Pair(redis, a, b)
    finally:
        a.stop()
        b.stop()
        redis.stop()


@pytest.fixture(params=["single", "cluster"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    """Persistent (append-only file) and debuggable; a cluster tolerates 5 s stalls before failing a node."""
    if request.param == "single":
        server = RedisProcess(data_dir=tmp_path / "redis", persist=True, extra_args=["--enable-debug-command", "yes"])
        try:
            server.start()
            yield Backend("single", server.url, [server], [server])
        finally:
            server.stop()
    else:
        with RedisClusterProcess(masters=3, node_timeout_ms=5000, persist=True) as cluster:
            yield Backend("cluster", cluster.url, cluster.nodes, cluster.masters, cluster)
