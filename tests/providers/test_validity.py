"""A plain-SMS send asks the vendor to drop the message once the code is dead (SendOptions.validity_s)."""

from __future__ import annotations

import httpx
import pytest

from providers import SendOptions
from tests.fakes import gatum, wavy
from tests.providers.conftest import REF, TEXT, TO


def _client(fake: object) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.MockTransport(fake.handler))  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("validity_s", "lifetime"),
    [(600, 600), (0, 60), (59, 60), (3 * 86400, 86400)],
    ids=["as-is", "raised-to-the-floor", "under-the-floor", "capped-at-the-default"],
)
async def test_gatum_sends_the_code_lifetime_as_lifetime_seconds(validity_s: int, lifetime: int) -> None:
    fake = gatum.FakeGatum()
    async with _client(fake) as client:
        await gatum.build(client).send(TO, TEXT, reference=REF, options=SendOptions(validity_s=validity_s))
    assert fake.messages[-1]["raw"]["lifetime"] == lifetime


async def test_gatum_without_a_validity_leaves_the_vendor_default() -> None:
    fake = gatum.FakeGatum()
    async with _client(fake) as client:
        await gatum.build(client).send(TO, TEXT, reference=REF)
    assert "lifetime" not in fake.messages[-1]["raw"]


@pytest.mark.parametrize(
    ("validity_s", "minutes"),
    [(600, 10), (601, 11), (1, 1), (0, 1), (7 * 86400, 1440)],
    ids=["whole-minutes", "rounded-up", "under-a-minute", "zero", "capped-at-24h"],
)
async def test_wavy_sends_the_code_lifetime_as_expires_in_minutes(validity_s: int, minutes: int) -> None:
    fake = wavy.FakeWavy()
    async with _client(fake) as client:
        await wavy.build(client).send(TO, TEXT, reference=REF, options=SendOptions(validity_s=validity_s))
    raw = fake.messages[-1]["raw"]
    assert raw["expiresInMinutes"] == minutes
    assert "expiresAt" not in raw and "expiresDate" not in raw  # the three are mutually exclusive [doc]


async def test_wavy_without_a_validity_sends_no_expiry() -> None:
    fake = wavy.FakeWavy()
    async with _client(fake) as client:
        await wavy.build(client).send(TO, TEXT, reference=REF)
    assert "expiresInMinutes" not in fake.messages[-1]["raw"]
