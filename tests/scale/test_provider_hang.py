"""A provider that hangs longer than its timeout costs only the requests waiting on it.

``/health/live``, checks and sends to other numbers are answered at once while a send waits on the
hung vendor, and the hung send itself ends when the provider's own timeout (``GATUM_TIMEOUT_S=1.5``)
says so, not when the vendor finally answers. Both with a hang in the transport (one number only)
and with a vendor that hangs on a real loopback socket (every call).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest

from otp_service.app import create_app
from otp_service.devredis import RedisProcess
from tests.api.helpers import wrong
from tests.conftest import CHEAP_ARGON2, CLIENT, code_in, make_settings
from tests.fakes.gatum import FakeGatum
from tests.scale.procs import VendorThread
from tests.server import ServerThread

PROVIDER_TIMEOUT_S = 1.5
HUNG = "+34600100500"
OTHER = "+34600100501"
# What "at once" means here: far less than the hang, with room for a loaded CI machine. That these
# answers came while the hung send still waited is asserted separately (``not hung.done()``).
FAST_S = PROVIDER_TIMEOUT_S / 2


class HangsForOneNumber:
    """Gatum's fake behind a transport whose send to one number never answers (until cancelled)."""

    def __init__(self, msisdn: str) -> None:
        self.fake = FakeGatum()
        self.msisdn = msisdn
        self.hanging = threading.Event()

    async def handler(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/send" and self.msisdn in request.content.decode():
            self.hanging.set()
            await asyncio.sleep(60)  # the provider's timeout cancels this
        return self.fake.handler(request)

    def last_code(self, msisdn: str) -> str:
        return code_in(next(m["text"] for m in reversed(self.fake.messages) if msisdn in str(m["to"])))


Start = Callable[..., str]


@pytest.fixture
async def http_for(redis_server: RedisProcess, redis: object) -> AsyncIterator[Start]:
    """Starts the app behind real uvicorn with a given vendor transport (None: real sockets); its URL."""
    servers: list[ServerThread] = []

    def start(transport: httpx.AsyncBaseTransport | None, **env: str) -> str:
        settings = make_settings(OTP_REDIS_URL=redis_server.url, GATUM_TIMEOUT_S=str(PROVIDER_TIMEOUT_S), **env)
        app = create_app(settings, http_transport=transport, argon2=CHEAP_ARGON2)
        servers.append(ServerThread(app).start())
        return servers[-1].url

    try:
        yield start
    finally:
        for server in servers:
            server.stop()


async def timed(call: Awaitable[httpx.Response]) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = await call
    return response, time.monotonic() - started


async def test_a_hanging_send_never_delays_health_live_or_other_numbers(http_for: Start) -> None:
    vendor = HangsForOneNumber(HUNG[1:])
    url = http_for(httpx.MockTransport(vendor.handler))
    async with httpx.AsyncClient(base_url=url, headers=CLIENT, timeout=10) as http:
        started = time.monotonic()
        hung = asyncio.create_task(http.post("/v1/verifications", json={"to": HUNG}))
        assert await asyncio.to_thread(vendor.hanging.wait, 5), "the send never reached the vendor"

        for path in ("/health/live", "/health/ready"):
            response, elapsed = await timed(http.get(path))
            assert response.status_code == 200 and elapsed < FAST_S, (path, elapsed)
        sent, elapsed = await timed(http.post("/v1/verifications", json={"to": OTHER}))
        assert sent.status_code == 201 and elapsed < FAST_S, elapsed
        code = vendor.last_code(OTHER[1:])
        checked, elapsed = await timed(http.post("/v1/verifications/check", json={"to": OTHER, "code": code}))
        assert checked.json()["status"] == "approved" and elapsed < FAST_S, elapsed
        assert not hung.done()  # all of that happened while the send was hanging

        response = await hung
        took = time.monotonic() - started
        assert PROVIDER_TIMEOUT_S * 0.9 < took < PROVIDER_TIMEOUT_S + 1.0, took  # its own timeout ended it
        # The request left and got no answer: it may have been delivered, so no second code is sent.
        assert response.status_code == 201, response.text
        assert response.json()["delivery"]["status"] == "unknown"


async def test_a_vendor_hanging_on_a_real_socket_times_out_and_the_service_stays_responsive(
    http_for: Start,
) -> None:
    with VendorThread(FakeGatum()) as vendor:
        url = http_for(None, GATUM_BASE_URL=vendor.url)  # a real httpx transport to a real socket
        async with httpx.AsyncClient(base_url=url, headers=CLIENT, timeout=10) as http:
            sent = await http.post("/v1/verifications", json={"to": OTHER})
            assert sent.status_code == 201, sent.text
            code = code_in(vendor.app.fake.messages[-1]["text"])

            vendor.app.hang_s = 3 * PROVIDER_TIMEOUT_S  # bounded, so the fake itself can stop
            started = time.monotonic()
            hung = [
                asyncio.create_task(http.post("/v1/verifications", json={"to": f"+3460010051{i}"})) for i in range(3)
            ]
            await asyncio.sleep(0.2)  # the sends are waiting on the vendor
            for _ in range(3):
                response, elapsed = await timed(http.get("/health/live"))
                assert response.status_code == 200 and elapsed < FAST_S, elapsed
            rejected, elapsed = await timed(
                http.post("/v1/verifications/check", json={"to": OTHER, "code": wrong(code)})
            )
            assert rejected.json()["valid"] is False and elapsed < FAST_S, elapsed
            approved, elapsed = await timed(http.post("/v1/verifications/check", json={"to": OTHER, "code": code}))
            assert approved.json()["status"] == "approved" and elapsed < FAST_S, elapsed
            assert not any(task.done() for task in hung)

            responses = await asyncio.gather(*hung)
            took = time.monotonic() - started
            assert took < PROVIDER_TIMEOUT_S + 1.0, took  # all three at once, each within its own timeout
            for response in responses:
                assert response.status_code in (201, 503), response.text
                if response.status_code == 201:
                    assert response.json()["delivery"]["status"] == "unknown"
