"""Conectaline as its examples page shows it: what `data` may hold, both error spellings, token expiry readings."""

from __future__ import annotations

import time

import httpx
import pytest

from providers import ProviderAuthError, ProviderRejected
from providers.conectaline import ConectalineSms, token_lifetime
from tests.fakes.conectaline import FakeConectaline, build, build_login
from tests.providers.conftest import TEXT, TO


@pytest.fixture
def fake() -> FakeConectaline:
    return FakeConectaline()


@pytest.fixture
async def http(fake: FakeConectaline) -> httpx.AsyncClient:
    async with httpx.AsyncClient(transport=httpx.MockTransport(fake.handler)) as client:
        yield client  # type: ignore[misc]


@pytest.mark.parametrize(("shape", "has_id"), [("object", True), ("list", True), ("opaque", False)])
async def test_any_data_is_acceptance_and_an_id_is_taken_only_when_there_is_one(
    fake: FakeConectaline, http: httpx.AsyncClient, shape: str, has_id: bool
) -> None:
    fake.push_data = shape
    receipt = await build(http).send(TO, TEXT, reference="vf_1")
    assert (receipt.message_id == fake.messages[-1]["id"]) if has_id else receipt.message_id is None
    assert len(fake.messages) == 1  # accepted once: never a failover for an unfamiliar `data`


async def test_an_error_given_as_a_bare_string_is_a_rejection(fake: FakeConectaline, http: httpx.AsyncClient) -> None:
    fake.string_errors = True
    fake.business_error_status = 200  # the examples judge by the `error` key, not the status
    fake.configurations = ("another-configuration",)
    with pytest.raises(ProviderRejected) as info:
        await build(http).send(TO, TEXT, reference="vf_1")
    assert "configuration name is invalid" in info.value.detail
    assert not isinstance(info.value, ProviderAuthError)


async def test_a_refused_temporary_token_as_a_bare_string_error_logs_in_again(
    fake: FakeConectaline, http: httpx.AsyncClient
) -> None:
    fake.string_errors = True
    sender: ConectalineSms = build_login(http)
    await sender.send(TO, TEXT, reference="vf_1")
    fake.expire_tokens()
    await sender.send(TO, TEXT, reference="vf_2")
    assert fake.logins == 2 and len(fake.messages) == 2


@pytest.mark.parametrize(
    ("expires_in", "expires_at", "lifetime"),
    [
        (3600, None, 3600),  # seconds [guess]
        (60, "+3600", 60),  # minutes read as seconds: renewed too early, never too late
        (None, "+1800", 1800),  # a Unix time
        (None, "+1800ms", 1800),  # a Unix time in milliseconds
        (None, "iso+1200", 1200),  # an ISO-8601 time with its offset
        ("3600", "past", 3600),  # an expires_at already past (a local-time clock) is ignored
        (None, None, 1800),  # nothing usable: 30 minutes
    ],
)
def test_every_reading_of_the_expiry_fields_errs_towards_renewing_early(
    expires_in: object, expires_at: str | None, lifetime: float
) -> None:
    now = time.time()
    at: object = None
    if expires_at == "+3600":
        at = now + 3600
    elif expires_at == "+1800":
        at = now + 1800
    elif expires_at == "+1800ms":
        at = (now + 1800) * 1000
    elif expires_at == "iso+1200":
        at = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(now + 1200))
    elif expires_at == "past":
        at = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(now - 7200))
    assert token_lifetime(expires_in, at, now=now) == pytest.approx(lifetime, abs=1)
