"""What the outage tests share: a single Redis or a whole cluster to restart, stall or stop as one,
and the waits and timings they use."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx
from redis.asyncio import Redis

from otp_service.devredis import RedisProcess
from tests.api.helpers import Client
from tests.cluster import RedisClusterProcess

TIMEOUT_S = 0.5  # OTP_REDIS_TIMEOUT_S in these tests
PROMPT_S = 2 * TIMEOUT_S + 0.4  # a 503 comes within about one store deadline (2 x the socket timeout)
STALL_S = 2.5  # how long DEBUG SLEEP holds Redis in the stall test
ROOMY = {"count": 1000, "window_seconds": 600}


@dataclass
class Backend:
    """A single Redis or a whole cluster, to restart or stall as one."""

    kind: str
    url: str  # OTP_REDIS_URL
    servers: list[RedisProcess]  # every process: a restart stops and starts them all
    masters: list[RedisProcess]  # where DEBUG SLEEP goes
    cluster: RedisClusterProcess | None = None

    def stop(self) -> None:
        for server in self.servers:
            server.stop()

    def start(self) -> None:
        """Start again on the same ports with the same data; returns once it serves."""
        if self.cluster is not None:
            self.cluster.start_nodes()
        else:
            for server in self.servers:
                server.start()


async def timed(call: Awaitable[httpx.Response]) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = await call
    return response, time.monotonic() - started


async def poll_until(
    what: str, attempt: Callable[[], Awaitable[bool]], *, timeout_s: float, interval_s: float = 0.1
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if await attempt():
            return
        await asyncio.sleep(interval_s)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


async def assert_live_is_fast(client: Client | httpx.AsyncClient, limit_s: float = 0.25) -> None:
    response, elapsed = await timed(client.get("/health/live"))
    assert response.status_code == 200
    assert elapsed < limit_s, f"/health/live took {elapsed:.2f} s"


async def stall(ports: list[int], seconds: float) -> asyncio.Future[list[None]]:
    """``DEBUG SLEEP`` on every given server at once; await the result to know they are awake."""

    watching = {port: asyncio.Event() for port in ports}

    async def one(port: int) -> None:
        async with Redis(port=port, socket_timeout=seconds + 5, single_connection_client=True) as r:
            await r.ping()
            await watching[port].wait()
            await r.execute_command("DEBUG", "SLEEP", seconds)  # type: ignore[no-untyped-call]

    async def asleep(port: int, sleeper: asyncio.Task[None]) -> None:
        """Returns once the server stops answering: a fixed pause is not enough on a loaded machine."""
        # Connected before the sleep starts: a connection made during it would wait out the whole sleep.
        async with Redis(port=port, single_connection_client=True) as r:
            await r.ping()
            watching[port].set()
            while not sleeper.done():
                try:
                    async with asyncio.timeout(0.05):  # not a socket timeout: redis-py would retry it
                        await r.ping()
                except TimeoutError:  # the DEBUG SLEEP is running
                    return
                await asyncio.sleep(0.005)
        sleeper.result()  # raises what the DEBUG SLEEP raised
        raise AssertionError(f"redis on port {port} slept and woke before a ping saw it")

    sleepers = [asyncio.create_task(one(port)) for port in ports]
    await asyncio.gather(*(asleep(port, sleeper) for port, sleeper in zip(ports, sleepers, strict=True)))
    return asyncio.gather(*sleepers)


def node_for(backend: Backend, key: str) -> RedisProcess:
    """The server holding ``key``: the only one for a single Redis, its slot's master on a cluster."""
    return backend.cluster.master_for(key) if backend.cluster is not None else backend.masters[0]
