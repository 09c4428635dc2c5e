"""Asking a vendor's status endpoint about a message whose receipt never came (DeliveryLookup)."""

from __future__ import annotations

import time

import httpx
import pytest

from providers import DeliveryLookup, DeliveryStatus, ProviderAuthError, ProviderUnavailable, SmsSender
from tests.fakes import conectaline, gatum, instasent, wavy, webhook
from tests.providers.conftest import REF, TEXT, TO


def _client(fake: object) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.MockTransport(fake.handler))  # type: ignore[attr-defined]


def test_the_vendors_with_a_documented_status_endpoint_implement_the_lookup() -> None:
    client = httpx.AsyncClient()
    with_lookup = {
        m.build(client).name for m in (gatum, wavy, instasent) if isinstance(m.build(client), DeliveryLookup)
    }
    without = {m.build(client).name for m in (conectaline, webhook) if isinstance(m.build(client), DeliveryLookup)}
    assert with_lookup == {"gatum", "wavy", "instasent"}
    assert without == set()  # Conectaline documents none; the operator's webhook has receipts of its own


@pytest.mark.parametrize(
    ("sent", "delivered", "expected"),
    [
        (2, 4, DeliveryStatus.DELIVERED),
        (2, 104, DeliveryStatus.UNDELIVERED),
        (2, None, DeliveryStatus.SENT),
        (202, None, DeliveryStatus.FAILED),
    ],
)
async def test_wavy_reads_the_status_query_like_its_callbacks(
    sent: int, delivered: int | None, expected: DeliveryStatus
) -> None:
    fake = wavy.FakeWavy()
    async with _client(fake) as client:
        sender = wavy.build(client)
        receipt = await sender.send(TO, TEXT, reference=REF)
        assert receipt.message_id is not None
        fake.set_status(receipt.message_id, sent, delivered)
        update = await sender.delivery_status(receipt.message_id, to=TO, sent_at_s=time.time())
    assert update is not None and update.status is expected and update.message_id == receipt.message_id
    search = [r for r in fake.requests if r.url.path == "/v1/sms/status/search"][-1]
    assert search.headers["UserName"] == wavy.USERNAME  # the same header credentials as a send [doc]


async def test_wavy_knows_nothing_yet_about_a_message_without_status() -> None:
    fake = wavy.FakeWavy()
    async with _client(fake) as client:
        sender = wavy.build(client)
        receipt = await sender.send(TO, TEXT, reference=REF)
        assert receipt.message_id is not None
        assert await sender.delivery_status(receipt.message_id, to=TO, sent_at_s=time.time()) is None


async def test_a_rate_limited_status_query_is_unavailable_not_a_crash() -> None:
    fake = wavy.FakeWavy()
    fake.fail_with_status = 429  # "beyond 1 request/s per IP: HTTP 429" [doc]
    async with _client(fake) as client:
        with pytest.raises(ProviderUnavailable):
            await wavy.build(client).delivery_status("9cb87d36", to=TO, sent_at_s=time.time())


@pytest.mark.parametrize(
    ("word", "expected"),
    [("delivered", DeliveryStatus.DELIVERED), ("failed", DeliveryStatus.FAILED), ("sent", DeliveryStatus.SENT)],
)
async def test_instasent_reads_the_message_by_id(word: str, expected: DeliveryStatus) -> None:
    fake = instasent.FakeInstasent()
    async with _client(fake) as client:
        sender = instasent.build(client)
        receipt = await sender.send(TO, TEXT, reference=REF)
        assert receipt.message_id is not None
        fake.messages[-1]["status"] = word
        update = await sender.delivery_status(receipt.message_id, to=TO, sent_at_s=time.time())
    assert update is not None and update.status is expected


async def test_instasent_unknown_id_is_none_and_a_revoked_token_an_auth_error() -> None:
    fake = instasent.FakeInstasent()
    async with _client(fake) as client:
        sender = instasent.build(client)
        assert await sender.delivery_status("sms-999999", to=TO, sent_at_s=time.time()) is None
        fake.revoke_token()
        with pytest.raises(ProviderAuthError):
            await sender.delivery_status("sms-999999", to=TO, sent_at_s=time.time())


async def test_gatum_finds_the_message_in_sms_full_data_by_number_and_id() -> None:
    fake = gatum.FakeGatum()
    async with _client(fake) as client:
        sender = gatum.build(client)
        receipt = await sender.send(TO, TEXT, reference=REF)
        assert receipt.message_id is not None
        assert await sender.delivery_status(receipt.message_id, to=TO, sent_at_s=time.time()) is None  # not listed
        fake.states[int(receipt.message_id)] = "DELIVRD"
        update = await sender.delivery_status(receipt.message_id, to=TO, sent_at_s=time.time())
    assert update is not None and update.status is DeliveryStatus.DELIVERED
    query = [r for r in fake.requests if r.url.path == "/v1/sms-full-data"][-1]
    assert b'"phone":["34600100200"]' in query.content and b'"time_period"' in query.content


async def test_gatum_ignores_rows_about_other_messages() -> None:
    fake = gatum.FakeGatum()
    async with _client(fake) as client:
        sender = gatum.build(client)
        first = await sender.send(TO, TEXT, reference=REF)
        second = await sender.send(TO, TEXT, reference=REF)
        assert first.message_id and second.message_id
        fake.states[int(first.message_id)] = "DELIVRD"
        assert await sender.delivery_status(second.message_id, to=TO, sent_at_s=time.time()) is None


def test_every_lookup_is_still_a_sender() -> None:
    client = httpx.AsyncClient()
    for module in (gatum, wavy, instasent):
        assert isinstance(module.build(client), SmsSender)
