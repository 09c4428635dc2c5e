"""Shared fixtures: one real Redis server per test run, a clean database per test, fake vendors.

The Redis server is a real ``redis-server`` (or valkey) child process started here, never a mock:
the guarantees under test (Lua atomicity, TTLs, hash-tagged keys) only mean something on the real
thing. Every vendor is a fake that speaks its documented HTTP API, reached through one
``httpx.MockTransport`` that routes by host.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from otp_service.app import create_app
from otp_service.devredis import RedisProcess
from otp_service.domain.codes import Argon2Params
from otp_service.settings import Settings, load_settings
from tests.fakes import conectaline, gatum, instasent, message_central, wavy, webhook

CHEAP_ARGON2 = Argon2Params(time_cost=1, memory_kib=256)
API_KEY = "web-secret-key-0123456789"
MOBILE_KEY = "mobile-secret-key-0123456789"
ADMIN_TOKEN = "admin-secret-token-0123456789"
WEBHOOK_SECRET = "hook-secret-0123456789abcdef"
PEPPER = "pepper-for-tests-0123456789abcdef"
CLIENT = {"Authorization": f"Bearer {API_KEY}"}
MOBILE = {"Authorization": f"Bearer {MOBILE_KEY}"}
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}

_CODE = re.compile(r"\b(\d{4,10})\b")


class Vendors:
    """Every vendor fake behind one transport; the host picks the fake."""

    def __init__(self) -> None:
        self.message_central = message_central.FakeMessageCentral()
        self.gatum = gatum.FakeGatum()
        self.wavy = wavy.FakeWavy()
        self.instasent = instasent.FakeInstasent()
        self.conectaline = conectaline.FakeConectaline()
        self.webhook = webhook.FakeOperator()
        self.by_host: dict[str, Any] = {
            httpx.URL(message_central.BASE_URL).host: self.message_central,
            httpx.URL(gatum.BASE_URL).host: self.gatum,
            httpx.URL(wavy.BASE_URL).host: self.wavy,
            httpx.URL(instasent.BASE_URL).host: self.instasent,
            httpx.URL(conectaline.BASE_URL).host: self.conectaline,
            httpx.URL(webhook.BASE_URL).host: self.webhook,
        }
        self.calls: list[str] = []

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(request.url.host)
        response: httpx.Response = self.by_host[request.url.host].handler(request)
        return response

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handler)

    @staticmethod
    def env() -> dict[str, str]:
        return {
            **message_central.env(),
            **gatum.env(),
            **wavy.env(),
            **instasent.env(),
            **conectaline.env(),
            **webhook.env(),
        }

    def last_text(self, vendor: str = "gatum") -> str:
        messages = getattr(self, vendor).messages
        assert messages, f"{vendor} received no message"
        return str(messages[-1]["text"])

    def last_code(self, vendor: str = "gatum") -> str:
        return code_in(self.last_text(vendor))


def code_in(text: str) -> str:
    """The code in the text of a message a vendor fake received."""
    match = _CODE.search(text)
    assert match, "no code in the message"
    return match.group(1)


def make_settings(**env: str) -> Settings:
    """Production-mode settings against the fakes; keyword arguments override environment variables."""
    base = {
        "OTP_ENV": "production",
        "OTP_REDIS_URL": "redis://127.0.0.1:1/0",  # unused: tests hand the app their own client
        "OTP_PEPPER": PEPPER,
        "OTP_API_KEYS": f"web:{API_KEY},mobile:{MOBILE_KEY}:public",
        "OTP_ADMIN_TOKEN": ADMIN_TOKEN,
        "OTP_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "OTP_PROVIDERS": "gatum",
        "OTP_LOG_FORMAT": "json",
        **Vendors.env(),
    }
    base.update(env)
    return load_settings({k: v for k, v in base.items() if v is not None})


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisProcess]:
    with RedisProcess() as server:
        yield server


@pytest.fixture
async def redis(redis_server: RedisProcess) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_server.url)
    await client.flushdb()
    yield client
    await client.aclose()


@pytest.fixture
def vendors() -> Vendors:
    return Vendors()


@pytest.fixture
def settings(redis_server: RedisProcess) -> Settings:
    return make_settings(OTP_REDIS_URL=redis_server.url)


def build_app(settings: Settings, vendors: Vendors) -> Litestar:
    """The app opens its own Redis connection inside its lifespan (the test client runs it on its own loop)."""
    return create_app(settings, http_transport=vendors.transport(), argon2=CHEAP_ARGON2)


@pytest.fixture
async def client(settings: Settings, redis: Redis, vendors: Vendors) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(build_app(settings, vendors)) as test_client:
        yield test_client


@pytest.fixture
async def server(settings: Settings, redis: Redis, vendors: Vendors) -> AsyncIterator[str]:
    """The app behind a real uvicorn socket; yields its base URL."""
    from tests.server import ServerThread

    thread = ServerThread(build_app(settings, vendors)).start()
    try:
        yield thread.url
    finally:
        thread.stop()
