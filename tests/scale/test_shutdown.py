"""Graceful shutdown of a real ``otp-service`` process.

SIGTERM (what Docker, Kubernetes and systemd send) or SIGINT (Ctrl-C) stops taking new connections,
lets the requests in flight finish, closes the provider client and Redis, and stops the Redis
server that development mode started for itself: nothing is left running.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from otp_service.devredis import RedisProcess
from tests.api.helpers import NUMBER
from tests.conftest import CLIENT
from tests.fakes.gatum import FakeGatum
from tests.processes import clean_env
from tests.scale.procs import Service, VendorThread, is_redis_server, redis_servers_below, service_env

VENDOR_DELAY_S = 2.0
OTHER = "+34600100299"


@pytest.fixture
def redis_server_for_service(tmp_path: Path) -> Iterator[RedisProcess]:
    with RedisProcess(data_dir=tmp_path / "redis") as server:
        yield server


def assert_clean_exit(service: Service, code: int) -> None:
    """Exit 0, or by the SIGTERM that uvicorn re-raises after its graceful shutdown; nothing went wrong."""
    log = service.log()
    assert code in (0, -signal.SIGTERM), f"exit code {code}:\n{log}"
    for trouble in ("traceback", "unclosed", "was destroyed", "exception", "error", "shutdown failed"):
        assert trouble not in log.lower(), log


async def test_sigterm_lets_an_in_flight_send_finish_with_its_201(
    redis_server_for_service: RedisProcess, tmp_path: Path
) -> None:
    with VendorThread(FakeGatum()) as vendor:
        env = service_env(redis_server_for_service.url, gatum_url=vendor.url, GATUM_TIMEOUT_S="10")
        service = Service(env, workdir=tmp_path)
        try:
            service.start()
            async with httpx.AsyncClient(base_url=service.url, headers=CLIENT, timeout=15) as http:
                # A first send logs the service in at Gatum; the next one only waits on the send itself.
                assert (await http.post("/v1/verifications", json={"to": OTHER})).status_code == 201
                vendor.app.arrived.clear()
                vendor.app.delay_s = VENDOR_DELAY_S
                in_flight = asyncio.create_task(http.post("/v1/verifications", json={"to": NUMBER}))
                assert await asyncio.to_thread(vendor.app.arrived.wait, 10), "the send never reached the vendor"
                signalled_at = time.monotonic()
                service.signal(signal.SIGTERM)

                # New connections are refused at once, while the send is still waiting on the vendor.
                async def refused() -> bool:
                    try:
                        async with httpx.AsyncClient(timeout=0.5) as fresh:
                            await fresh.get(service.url + "/health/live")
                    except httpx.ConnectError:
                        return True
                    return False

                for _ in range(20):
                    if await refused():
                        break
                    await asyncio.sleep(0.05)
                else:
                    raise AssertionError("the stopping server still accepted new connections")
                assert not in_flight.done()

                response = await in_flight
                assert response.status_code == 201, response.text
                assert time.monotonic() - signalled_at < VENDOR_DELAY_S + 1
            assert len(vendor.app.fake.messages) == 2  # the code really went out
            assert_clean_exit(service, await asyncio.to_thread(service.wait, 15))
        finally:
            service.stop()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_otp_service_dev_stops_its_embedded_redis_when_stopped(tmp_path: Path, sig: signal.Signals) -> None:
    service = Service(clean_env(), workdir=tmp_path, command="dev", args=["--data-dir", str(tmp_path / "dev")])
    servers: list[int] = []
    try:
        service.start()
        servers = redis_servers_below(service.pid)
        assert len(servers) == 1, servers
        service.signal(sig)
        code = service.wait(15)
        assert not is_redis_server(servers[0]), f"redis-server (pid {servers[0]}) outlived `otp-service dev`"
        assert code in (0, 1), service.log()  # 1: click's "Aborted!" after Ctrl-C
        assert "Traceback" not in service.log(), service.log()
    finally:
        service.stop()
        stop_leftovers(servers)


def test_the_redis_embedded_by_a_dev_app_stops_with_it(tmp_path: Path) -> None:
    """``OTP_ENV=dev`` under any ASGI server (here bare uvicorn; ``serve`` refuses development mode):
    the app's lifespan starts Redis and stops it."""
    env = clean_env() | {"OTP_ENV": "dev", "OTP_LOG_LEVEL": "WARNING"}
    service = Service(env, workdir=tmp_path, command="uvicorn")
    servers: list[int] = []
    try:
        service.start()
        servers = redis_servers_below(service.pid)
        assert len(servers) == 1, servers
        service.signal(signal.SIGTERM)
        service.wait(15)
        assert not is_redis_server(servers[0]), "the embedded redis-server outlived the app"
        assert "Traceback" not in service.log(), service.log()
    finally:
        service.stop()
        stop_leftovers(servers)


def stop_leftovers(pids: list[int]) -> None:
    """If a test failed, the Redis servers it made its service start (found by pid) must not outlive it."""
    for pid in pids:
        if is_redis_server(pid):
            os.kill(pid, signal.SIGKILL)
