"""Instasent adapter against its fake (tests/fakes/instasent.py); MockTransport only, no network."""

from __future__ import annotations

import httpx
import msgspec
import pytest

from providers import (
    DeliveryStatus,
    Msisdn,
    ProviderAuthError,
    ProviderError,
    ProviderProtocolError,
    ProviderRejected,
    ProviderUnavailable,
    SmsSender,
)
from providers.instasent import SPEC, InstasentSettings, InstasentSms, client_id_for, parse_receipts
from tests.fakes.instasent import TOKEN, FakeInstasent
from tests.providers.conftest import BY_ID, Adapter
from tests.providers.conftest import assert_clean as assert_free_of

TO = Msisdn("34", "600100200")
CODE = "482913"
TEXT = f"Your Acme code is {CODE}. It expires in 10 minutes."
REF = "vf_7Hq2ZkR9mXb4"
FORBIDDEN = (CODE, TEXT, TOKEN, TO.e164, TO.digits, TO.national_number)


def only_json(fake: FakeInstasent) -> dict[str, object]:
    (request,) = fake.requests
    body = msgspec.json.decode(request.content)
    assert isinstance(body, dict)
    return body


@pytest.fixture
def case() -> Adapter:
    return BY_ID["instasent"]


def assert_clean(exc: ProviderError) -> None:
    assert_free_of(exc, FORBIDDEN)


# --- happy path ------------------------------------------------------------------------------------


async def test_send_posts_json_with_bearer_token_and_e164_number(adapter: InstasentSms, fake: FakeInstasent) -> None:
    receipt = await adapter.send(TO, TEXT, reference=REF)

    (request,) = fake.requests
    assert request.method == "POST"
    assert str(request.url) == "https://instasent.test/sms"
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.headers["Content-Type"] == "application/json"
    body = only_json(fake)
    assert set(body) == {"from", "to", "text", "clientId"}  # no allowUnicode for GSM-7 text
    assert body["from"] == "Acme"
    assert body["to"] == "+34600100200"
    assert body["text"] == TEXT
    assert receipt.provider == "instasent"
    assert receipt.message_id == fake.messages[0]["id"]
    assert fake.messages[0]["to"] == "+34600100200"


async def test_default_base_url_is_the_transactional_api_and_legacy_host_takes_the_same_path() -> None:
    urls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        urls.append(str(request.url))
        return httpx.Response(201, json={"entity": {"id": "sms-1"}})

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as c:
        await InstasentSms(InstasentSettings(token="t", sender="Acme"), c).send(TO, TEXT, reference=REF)
        legacy = InstasentSettings(base_url="https://api.instasent.com/", token="t", sender="Acme")
        await InstasentSms(legacy, c).send(TO, TEXT, reference=REF)
    assert urls == ["https://api.instasent.com/transactional/v1/sms", "https://api.instasent.com/sms"]


async def test_adapter_satisfies_the_sms_sender_protocol(adapter: InstasentSms) -> None:
    assert isinstance(adapter, SmsSender)
    assert adapter.name == SPEC.name == "instasent"
    assert adapter.max_length == 1000


@pytest.mark.parametrize("text", ["Tu código es 482913", "Code 482913 ✅"])
async def test_non_gsm_text_is_sent_with_allow_unicode(adapter: InstasentSms, fake: FakeInstasent, text: str) -> None:
    await adapter.send(TO, text, reference=REF)
    assert only_json(fake)["allowUnicode"] is True
    assert fake.messages[0]["text"] == text


async def test_gsm7_extension_characters_do_not_need_allow_unicode(adapter: InstasentSms, fake: FakeInstasent) -> None:
    await adapter.send(TO, "Your code [482913] {ok} ~ 0€ ^", reference=REF)
    assert "allowUnicode" not in only_json(fake)


async def test_client_id_carries_the_reference_and_is_unique_per_sms(
    adapter: InstasentSms, fake: FakeInstasent
) -> None:
    await adapter.send(TO, TEXT, reference=REF)
    await adapter.send(TO, TEXT, reference=REF)  # a resend of the same verification
    first, second = (m["clientId"] for m in fake.messages)
    assert first != second
    for client_id in (first, second):
        assert client_id.startswith(f"{REF}-")
        assert len(client_id) <= 40


async def test_receipt_for_a_sent_message_maps_back_to_our_reference(
    adapter: InstasentSms, fake: FakeInstasent
) -> None:
    receipt = await adapter.send(TO, TEXT, reference=REF)
    assert receipt.message_id is not None
    batch = parse_receipts(fake.receipt_body(receipt.message_id, "delivered"), {})
    (update,) = batch.updates
    assert update.status is DeliveryStatus.DELIVERED
    assert update.message_id == receipt.message_id
    assert update.reference == REF
    assert batch.response is None


def test_a_reference_too_long_for_client_id_is_not_sent_rather_than_truncated() -> None:
    assert client_id_for("x" * 35) is not None  # our ids: "vf_" and 32 hex digits
    assert client_id_for("x" * 36) is None
    assert len(client_id_for("x" * 35) or "") == 40


async def test_long_reference_sends_no_client_id(adapter: InstasentSms, fake: FakeInstasent) -> None:
    await adapter.send(TO, TEXT, reference="vf_" + "a" * 40)
    assert "clientId" not in only_json(fake)


async def test_a_reply_in_the_bulk_201_shape_names_the_accepted_message(
    adapter: InstasentSms, fake: FakeInstasent
) -> None:
    fake.bulk_reply = True
    receipt = await adapter.send(TO, TEXT, reference=REF)
    assert receipt.message_id == fake.messages[0]["id"]


async def test_a_201_in_the_bulk_shape_with_only_errors_is_a_refusal_not_a_delivery(
    adapter: InstasentSms, fake: FakeInstasent
) -> None:
    fake.next_response = httpx.Response(
        201,
        json={"entities": [], "errors": [{"index": 0, "fields": {"to": ["This value is not a valid phone number."]}}]},
    )
    with pytest.raises(ProviderRejected) as info:
        await adapter.send(TO, TEXT, reference=REF)
    assert info.value.status_code == 201
    assert "not a valid phone number" in info.value.detail


@pytest.mark.parametrize(
    ("body", "message_id"),
    [
        ({"entity": {"id": 12345}}, "12345"),
        ({"entity": {"status": "enqueued"}}, None),
        ({}, None),
        ({"entity": {"id": "a"}, "id": "b"}, "a"),
    ],
)
async def test_accepted_reply_without_usable_id_still_counts_as_sent(
    adapter: InstasentSms, fake: FakeInstasent, body: object, message_id: str | None
) -> None:
    fake.next_response = httpx.Response(201, json=body)
    receipt = await adapter.send(TO, TEXT, reference=REF)
    assert receipt.message_id == message_id


# --- failures ----------------------------------------------------------------------------------------


async def test_revoked_token_is_an_auth_error_without_any_retry(adapter: InstasentSms, fake: FakeInstasent) -> None:
    fake.revoke_token()
    with pytest.raises(ProviderAuthError) as info:
        await adapter.send(TO, TEXT, reference=REF)
    assert info.value.status_code == 401
    assert len(fake.requests) == 1
    assert_clean(info.value)


async def test_expire_tokens_changes_nothing_because_instasent_tokens_never_expire(
    adapter: InstasentSms, fake: FakeInstasent
) -> None:
    fake.expire_tokens()
    assert (await adapter.send(TO, TEXT, reference=REF)).message_id is not None


async def test_wrong_token_is_an_auth_error(client: httpx.AsyncClient) -> None:
    adapter = InstasentSms(InstasentSettings(base_url="https://instasent.test", token="wrong", sender="Acme"), client)
    with pytest.raises(ProviderAuthError):
        await adapter.send(TO, TEXT, reference=REF)


async def test_no_balance_is_rejected_with_vendor_code_402(adapter: InstasentSms, fake: FakeInstasent) -> None:
    fake.no_balance = True
    with pytest.raises(ProviderRejected) as info:
        await adapter.send(TO, TEXT, reference=REF)
    assert type(info.value) is ProviderRejected
    assert info.value.vendor_code == "402"
    assert info.value.status_code == 402
    assert not info.value.retryable
    assert "balance" in info.value.detail
    assert_clean(info.value)


async def test_rate_limit_with_empty_body_is_unavailable_and_says_when_it_resets(
    adapter: InstasentSms, fake: FakeInstasent
) -> None:
    fake.rate_limited = True
    with pytest.raises(ProviderUnavailable) as info:
        await adapter.send(TO, TEXT, reference=REF)
    assert info.value.status_code == 429
    assert info.value.retryable
    assert "resets in" in info.value.detail


async def test_rate_limit_without_reset_header_is_still_unavailable(adapter: InstasentSms, fake: FakeInstasent) -> None:
    fake.next_response = httpx.Response(429)
    with pytest.raises(ProviderUnavailable):
        await adapter.send(TO, TEXT, reference=REF)


@pytest.mark.parametrize(
    ("status", "body", "expected", "fragment"),
    [
        (400, {"message": "Problems parsing JSON"}, ProviderRejected, "Problems parsing JSON"),
        (400, {"message": "Body should be a JSON object"}, ProviderRejected, "JSON object"),
        (404, {"message": "Not Found"}, ProviderRejected, "Not Found"),
        (413, b"<html>Request Entity Too Large</html>", ProviderRejected, "Too Large"),
        (403, {"message": "Forbidden"}, ProviderAuthError, "HTTP 403"),
        (500, {"message": "Internal error"}, ProviderUnavailable, "HTTP 500"),
        (502, b"bad gateway", ProviderUnavailable, "HTTP 502"),
        (503, b"", ProviderUnavailable, "HTTP 503"),
    ],
)
async def test_documented_error_statuses_map_to_the_error_tree(
    adapter: InstasentSms,
    fake: FakeInstasent,
    status: int,
    body: object,
    expected: type[ProviderError],
    fragment: str,
) -> None:
    content = body if isinstance(body, bytes) else msgspec.json.encode(body)
    fake.next_response = httpx.Response(status, content=content)
    with pytest.raises(expected) as info:
        await adapter.send(TO, TEXT, reference=REF)
    assert type(info.value) is expected
    assert info.value.status_code == status
    assert fragment in info.value.detail


async def test_fake_validation_errors_come_back_as_rejections(client: httpx.AsyncClient, fake: FakeInstasent) -> None:
    adapter = InstasentSms(InstasentSettings(base_url="https://instasent.test", token=TOKEN, sender="Acme"), client)
    with pytest.raises(ProviderRejected) as info:
        await adapter.send(Msisdn("34", "6"), TEXT, reference=REF)  # too short for the fake's `to` check
    assert info.value.status_code == 400
    assert fake.messages == []


async def test_vendor_message_echoing_number_code_or_text_is_scrubbed(
    adapter: InstasentSms, fake: FakeInstasent
) -> None:
    echo = f"Invalid to {TO.e164} ({TO.digits}, {TO.national_number}) for text '{TEXT}' code {CODE}"
    fake.next_response = httpx.Response(400, json={"message": echo, "errors": {"to": [TO.e164]}})
    with pytest.raises(ProviderRejected) as info:
        await adapter.send(TO, TEXT, reference=REF)
    assert_clean(info.value)
    assert TO.masked() in info.value.detail


@pytest.mark.parametrize("content", [b"<html>ok</html>", b"", b"[]", b'{"entity": "sms-1"}', b'{"id": [1]}'])
async def test_garbled_success_reply_is_a_protocol_error(
    adapter: InstasentSms, fake: FakeInstasent, content: bytes
) -> None:
    fake.next_response = httpx.Response(201, content=content)
    with pytest.raises(ProviderProtocolError) as info:
        await adapter.send(TO, TEXT, reference=REF)
    assert info.value.status_code == 201
    assert_clean(info.value)
