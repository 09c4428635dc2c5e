"""The `webhook` provider: a signed JSON POST to the operator's own delivery endpoint, and its receipts."""

from __future__ import annotations

import json

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from providers import DeliveryStatus, ProviderAuthError, ProviderProtocolError, ReceiptError, SendOptions
from providers.base import Channel
from providers.registry import load_vendor_settings
from providers.webhook import SPEC, WebhookSender, WebhookSettings, parse_receipts
from tests.fakes.webhook import SECRET, URL, FakeOperator, build
from tests.providers.conftest import CODE, REF, TEXT, TO, Clock


@pytest.fixture
def operator() -> FakeOperator:
    return FakeOperator()


@pytest.fixture
async def http(operator: FakeOperator) -> httpx.AsyncClient:
    async with httpx.AsyncClient(transport=httpx.MockTransport(operator.handler)) as client:
        yield client  # type: ignore[misc]


async def test_the_message_is_posted_as_json_with_every_option(operator: FakeOperator, http: httpx.AsyncClient) -> None:
    options = SendOptions(channel=Channel.SMS, validity_s=300, locale="es")
    receipt = await build(http).send(TO, TEXT, reference=REF, options=options)
    sent = operator.messages[-1]
    assert {k: sent[k] for k in ("type", "to", "text", "reference", "locale", "channel", "validity_s")} == {
        "type": "otp.message",
        "to": TO.e164,
        "text": TEXT,
        "reference": REF,
        "locale": "es",
        "channel": "sms",
        "validity_s": 300,
    }
    assert CODE not in sent["reference"]  # the reference names the verification, never the code
    assert receipt.provider == "webhook" and receipt.message_id == sent["message_id"]


async def test_the_signature_verifies_with_the_standard_webhooks_library(
    operator: FakeOperator, http: httpx.AsyncClient
) -> None:
    await build(http).send(TO, TEXT, reference=REF)
    request = operator.requests[-1]
    assert request.headers["webhook-id"].startswith("msg_")
    assert request.headers["webhook-signature"].startswith("v1,")
    assert Webhook(SECRET).verify(request.content, dict(request.headers))["to"] == TO.e164


async def test_each_request_has_its_own_webhook_id(operator: FakeOperator, http: httpx.AsyncClient) -> None:
    sender = build(http)
    await sender.send(TO, TEXT, reference=REF)
    await sender.send(TO, TEXT, reference=REF)
    ids = {r.headers["webhook-id"] for r in operator.requests}
    assert len(ids) == 2


async def test_an_endpoint_with_another_secret_refuses_it_and_that_is_an_auth_error(http: httpx.AsyncClient) -> None:
    other = FakeOperator(secret="whsec_" + "QUJD" * 8)
    async with httpx.AsyncClient(transport=httpx.MockTransport(other.handler)) as client:
        with pytest.raises(ProviderAuthError):
            await build(client).send(TO, TEXT, reference=REF)
    assert other.messages == []


async def test_a_2xx_json_object_without_message_id_is_accepted_without_an_id(
    operator: FakeOperator, http: httpx.AsyncClient
) -> None:
    operator.reply = b"{}"
    receipt = await build(http).send(TO, TEXT, reference=REF)
    assert receipt.message_id is None


async def test_an_empty_2xx_is_a_bad_reply_that_may_have_delivered(
    operator: FakeOperator, http: httpx.AsyncClient
) -> None:
    operator.reply = b""
    with pytest.raises(ProviderProtocolError):
        await build(http).send(TO, TEXT, reference=REF)
    assert len(operator.messages) == 1  # the endpoint had the message: the dispatcher must not fail over


async def test_the_timestamp_is_the_senders_clock(operator: FakeOperator, http: httpx.AsyncClient) -> None:
    clock = Clock(1_750_000_123.9)
    sender = WebhookSender(WebhookSettings(url=URL, secret=SECRET), http, clock=clock)
    with pytest.raises(ProviderAuthError):  # the fake verifies freshness against the real time: this one is stale
        await sender.send(TO, TEXT, reference=REF)
    assert operator.requests[-1].headers["webhook-timestamp"] == "1750000123"


def test_receipts_use_the_services_own_status_words() -> None:
    body = json.dumps(
        [
            {"message_id": "wh-1", "status": "delivered"},
            {"reference": REF, "status": "UNDELIVERED"},
            {"message_id": "wh-3", "status": "on-the-moon"},
        ]
    ).encode()
    updates = parse_receipts(body, {}).updates
    assert [u.status for u in updates] == [DeliveryStatus.DELIVERED, DeliveryStatus.UNDELIVERED, DeliveryStatus.UNKNOWN]
    assert updates[1].reference == REF and updates[0].message_id == "wh-1"


@pytest.mark.parametrize("body", [b'{"status": "delivered"}', b"[1]", b"nope", b'{"message_id": "x"}'])
def test_a_receipt_without_an_id_or_status_is_refused(body: bytes) -> None:
    with pytest.raises(ReceiptError):
        parse_receipts(body, {})


@pytest.mark.parametrize(
    ("environ", "problem"),
    [
        ({"WEBHOOK_PROVIDER_URL": URL}, "must be set together"),
        ({"WEBHOOK_PROVIDER_URL": "ftp://x", "WEBHOOK_PROVIDER_SECRET": SECRET}, "http(s) URL"),
        ({"WEBHOOK_PROVIDER_URL": URL, "WEBHOOK_PROVIDER_SECRET": "whsec_%%%"}, "Standard Webhooks key"),
    ],
)
def test_bad_settings_name_the_variable(environ: dict[str, str], problem: str) -> None:
    with pytest.raises(ValueError, match="WEBHOOK_") as info:
        load_vendor_settings(SPEC, environ)
    assert problem in str(info.value)
    assert SECRET not in str(info.value)
