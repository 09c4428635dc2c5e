"""The Message Central fake behind an in-memory network, and adapters built on it: shared by the four
Message Central test files (adapter, response codes, token, spec)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from providers.message_central import MessageCentralSettings, MessageCentralSms, MessageCentralVerify
from tests.fakes.message_central import SETTINGS, SMS_SETTINGS, FakeMessageCentral
from tests.providers.conftest import Clock


@pytest.fixture
def fake(clock: Clock) -> FakeMessageCentral:
    return FakeMessageCentral(clock=clock, seed=7)


@pytest.fixture
async def http(fake: FakeMessageCentral) -> AsyncIterator[httpx.AsyncClient]:
    async def network(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.001)  # let concurrent callers interleave, as a real round trip does
        return fake.handler(request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(network)) as client:
        yield client


@pytest.fixture
def verify(http: httpx.AsyncClient, clock: Clock) -> Callable[..., MessageCentralVerify]:
    def make(settings: MessageCentralSettings = SETTINGS) -> MessageCentralVerify:
        return MessageCentralVerify(settings, http, clock=clock)

    return make


@pytest.fixture
def sms(http: httpx.AsyncClient, clock: Clock) -> Callable[..., MessageCentralSms]:
    def make(settings: MessageCentralSettings = SMS_SETTINGS) -> MessageCentralSms:
        return MessageCentralSms(settings, http, clock=clock)

    return make
