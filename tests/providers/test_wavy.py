"""Wavy (Sinch LatAm) adapter against the fake HTTPS API (no network)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import msgspec
import pytest

from providers.base import (
    DeliveryStatus,
    Msisdn,
    ProviderAuthError,
    ProviderProtocolError,
    ProviderRejected,
    ProviderUnavailable,
    ReceiptError,
    SmsSender,
)
from providers.registry import load_vendor_settings
from providers.wavy import SPEC, WavySender, WavySettings, parse_receipts
from tests.fakes.wavy import SETTINGS, TOKEN, USERNAME, FakeWavy, build, env
from tests.providers.conftest import BY_ID, Adapter
from tests.providers.conftest import assert_clean as assert_free_of

TO = Msisdn("55", "11987654321")
CODE = "739155"
TEXT = f"Seu codigo de verificacao: {CODE}"
REF = "vf_01HZXK3T9Q"


@pytest.fixture
def case() -> Adapter:
    return BY_ID["wavy"]


@pytest.fixture
def sender(client: httpx.AsyncClient) -> WavySender:
    return build(client)


def assert_clean(error: BaseException, *extra: str) -> None:
    assert_free_of(error, (CODE, TEXT, TO.digits, TO.national_number, TOKEN, *extra))


# --- happy path -------------------------------------------------------------------------------------


async def test_send_posts_destination_text_and_correlation_id_with_header_auth(
    fake: FakeWavy, sender: WavySender
) -> None:
    receipt = await sender.send(TO, TEXT, reference=REF)

    [request] = fake.requests
    assert request.method == "POST"
    assert str(request.url) == "https://wavy.test/v1/send-sms"
    assert request.headers["UserName"] == USERNAME
    assert request.headers["AuthenticationToken"] == TOKEN
    assert request.headers["Content-Type"] == "application/json"
    assert json.loads(request.content) == {"destination": "5511987654321", "messageText": TEXT, "correlationId": REF}
    assert fake.messages[0]["to"] == "5511987654321"
    assert fake.messages[0]["text"] == TEXT
    assert receipt.provider == "wavy"
    assert receipt.message_id == fake.messages[0]["id"]


async def test_adapter_satisfies_the_sms_sender_protocol(sender: WavySender) -> None:
    assert isinstance(sender, SmsSender)
    assert sender.name == "wavy"
    assert sender.max_length == 1280


async def test_reply_rendered_as_a_one_element_list_is_accepted(fake: FakeWavy, sender: WavySender) -> None:
    fake.list_response = True
    receipt = await sender.send(TO, TEXT, reference=REF)
    assert receipt.message_id == fake.messages[0]["id"]


async def test_urls_are_built_from_the_configured_base_url(fake: FakeWavy) -> None:
    settings = WavySettings(base_url="https://api-messaging.movile.test/", username=USERNAME, token=TOKEN)
    async with httpx.AsyncClient(
        transport=httpx.MockTransport(fake.handler), base_url="https://ignored.test"
    ) as client:
        await WavySender(settings, client).send(TO, TEXT, reference=REF)
    assert str(fake.requests[0].url) == "https://api-messaging.movile.test/v1/send-sms"


async def test_text_of_exactly_1280_characters_is_sent(fake: FakeWavy, sender: WavySender) -> None:
    await sender.send(TO, "a" * 1280, reference=REF)
    assert len(fake.messages) == 1


async def test_text_over_1280_characters_is_rejected_before_sending(fake: FakeWavy, sender: WavySender) -> None:
    with pytest.raises(ProviderRejected) as caught:
        await sender.send(TO, "a" * 1281, reference=REF)
    assert fake.requests == []
    assert "1281 > 1280" in caught.value.detail


async def test_reference_longer_than_64_characters_is_left_out_not_truncated(
    fake: FakeWavy, sender: WavySender
) -> None:
    receipt = await sender.send(TO, TEXT, reference="vf_" + "x" * 62)
    assert "correlationId" not in json.loads(fake.requests[0].content)
    assert receipt.message_id is not None


async def test_reference_of_64_characters_is_sent(fake: FakeWavy, sender: WavySender) -> None:
    reference = "vf_" + "x" * 61
    await sender.send(TO, TEXT, reference=reference)
    assert json.loads(fake.requests[0].content)["correlationId"] == reference


async def test_each_send_is_one_request_with_no_login(fake: FakeWavy, sender: WavySender) -> None:
    for _ in range(3):
        await sender.send(TO, TEXT, reference=REF)
    assert [r.url.path for r in fake.requests] == ["/v1/send-sms"] * 3


# --- credentials -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("username", "token"), [(USERNAME, "wrong-token"), ("someone-else", TOKEN)])
async def test_wrong_credentials_are_an_auth_error_at_once(username: str, token: str) -> None:
    fake = FakeWavy(username=username, token=token)
    async with httpx.AsyncClient(transport=httpx.MockTransport(fake.handler)) as client:
        with pytest.raises(ProviderAuthError) as caught:
            await build(client).send(TO, TEXT, reference=REF)
    assert caught.value.status_code == 401
    assert len(fake.requests) == 1  # no login step, so nothing to refresh and retry
    assert_clean(caught.value)


async def test_forbidden_account_is_an_auth_error(fake: FakeWavy, sender: WavySender) -> None:
    fake.fail_with_status = 403  # e.g. an "Administrator" account, which cannot send
    with pytest.raises(ProviderAuthError) as caught:
        await sender.send(TO, TEXT, reference=REF)
    assert caught.value.status_code == 403
    assert len(fake.requests) == 1


# --- transport and status failures ----------------------------------------------------------------


async def test_rate_limit_is_unavailable(fake: FakeWavy, sender: WavySender) -> None:
    fake.rate_limited = True
    with pytest.raises(ProviderUnavailable) as caught:
        await sender.send(TO, TEXT, reference=REF)
    assert caught.value.status_code == 429
    assert caught.value.vendor_code == "429"


async def test_server_error_with_a_non_json_body_is_unavailable(fake: FakeWavy, sender: WavySender) -> None:
    fake.next_response = httpx.Response(502, text="<html>Bad Gateway</html>")
    with pytest.raises(ProviderUnavailable):
        await sender.send(TO, TEXT, reference=REF)


# --- business errors ----------------------------------------------------------------------------------


async def test_invalid_destination_is_rejected(fake: FakeWavy, sender: WavySender) -> None:
    with pytest.raises(ProviderRejected) as caught:
        await sender.send(Msisdn("55", "1"), TEXT, reference=REF)
    assert not isinstance(caught.value, ProviderAuthError)
    assert caught.value.status_code == 400
    assert caught.value.vendor_code == "400"
    assert "Invalid destination" in caught.value.detail


@pytest.mark.parametrize("status", [400, 404])
async def test_client_errors_are_rejected_by_status_whatever_the_body(
    fake: FakeWavy, sender: WavySender, status: int
) -> None:
    fake.next_response = httpx.Response(status, text="")
    with pytest.raises(ProviderRejected) as caught:
        await sender.send(TO, TEXT, reference=REF)
    assert not isinstance(caught.value, ProviderAuthError)
    assert caught.value.status_code == status
    assert caught.value.vendor_code is None


async def test_error_messages_echoing_the_request_are_scrubbed(fake: FakeWavy, sender: WavySender) -> None:
    fake.next_response = httpx.Response(
        400, json={"errorCode": "INVALID", "errorMessage": f"destination {TO.digits} refused text '{TEXT}' ({CODE})"}
    )
    with pytest.raises(ProviderRejected) as caught:
        await sender.send(TO, TEXT, reference=REF)
    assert caught.value.vendor_code == "INVALID"
    assert "+55********321" in caught.value.detail
    assert_clean(caught.value)


async def test_vendor_code_echoing_the_token_is_scrubbed(fake: FakeWavy, sender: WavySender) -> None:
    fake.next_response = httpx.Response(401, json={"errorCode": TOKEN, "errorMessage": "bad token"})
    with pytest.raises(ProviderAuthError) as caught:
        await sender.send(TO, TEXT, reference=REF)
    assert caught.value.vendor_code == "***"
    assert_clean(caught.value)


# --- unexpected shapes ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [b"<html>ok</html>", b"", b"{}", b'{"id": 5}', b"[]", b'"9cb87d36"'],
    ids=["html", "empty", "no-id", "id-not-str", "empty-list", "bare-string"],
)
async def test_unparseable_success_body_is_a_protocol_error(fake: FakeWavy, sender: WavySender, body: bytes) -> None:
    fake.next_response = httpx.Response(200, content=body)
    with pytest.raises(ProviderProtocolError) as caught:
        await sender.send(TO, TEXT, reference=REF)
    assert caught.value.status_code == 200


async def test_extra_reply_fields_are_ignored(fake: FakeWavy, sender: WavySender) -> None:
    fake.next_response = httpx.Response(200, json={"id": "9cb87d36-79af", "correlationId": REF, "status": "QUEUED"})
    assert (await sender.send(TO, TEXT, reference=REF)).message_id == "9cb87d36-79af"


# --- settings and spec ------------------------------------------------------------------------------


def test_settings_load_from_the_documented_env_vars() -> None:
    settings = load_vendor_settings(SPEC, env())
    assert settings == SETTINGS
    assert SPEC.is_configured(settings)
    assert (SPEC.name, SPEC.env_prefix) == ("wavy", "WAVY")
    assert SPEC.receipts is parse_receipts


def test_unconfigured_defaults_point_at_the_public_api() -> None:
    settings = WavySettings()
    assert settings.base_url == "https://api-messaging.wavy.global"
    assert not SPEC.is_configured(settings)


def test_repr_hides_the_token() -> None:
    settings = WavySettings(username="u", token="s3cr3t-token")
    assert "s3cr3t-token" not in repr(settings)
    assert settings.secrets() == ["s3cr3t-token"]


@pytest.mark.parametrize(
    "fields",
    [{"username": "u"}, {"token": "t"}, {"username": "u", "token": "t", "base_url": "api-messaging.wavy.global"}],
    ids=["username-only", "token-only", "no-scheme"],
)
def test_incomplete_settings_are_refused(fields: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="WAVY_"):
        WavySettings(**fields)


# --- delivery receipts ------------------------------------------------------------------------------


def callback(**overrides: object) -> dict[str, object]:
    item: dict[str, object] = {
        "id": "f9c100ff-aed0-4456-898c-e57d754c439c",
        "correlationId": REF,
        "carrierId": 1,
        "carrierName": "VIVO",
        "destination": "5511900009999",
        "sentStatusCode": 2,
        "sentStatus": "SENT_SUCCESS",
        "sentAt": 1266660300000,
        "sentDate": "2010-02-20T10:05:00Z",
        "campaignId": "64",
        "extraInfo": "",
    }
    item.update(overrides)
    return item


def delivery(code: int, name: str) -> dict[str, object]:
    item = callback(deliveredStatusCode=code, deliveredStatus=name, deliveredAt=1420732954000)
    item["sentStatusAt"] = item.pop("sentAt")
    return item


def parse_one(item: object) -> tuple[DeliveryStatus, str | None, str | None, str | None]:
    [update] = parse_receipts(json.dumps(item).encode(), {}).updates
    return update.status, update.message_id, update.reference, update.vendor_status


@pytest.mark.parametrize(
    ("code", "name", "status"),
    [
        (2, "SENT_SUCCESS", DeliveryStatus.SENT),
        (101, "EXPIRED", DeliveryStatus.UNDELIVERED),
        (102, "CARRIER_COMMUNICATION_ERROR", DeliveryStatus.FAILED),
        (103, "REJECTED_BY_CARRIER", DeliveryStatus.FAILED),
        (201, "NO_CREDIT", DeliveryStatus.FAILED),
        (202, "INVALID_DESTINATION_NUMBER", DeliveryStatus.FAILED),
        (203, "BLACKLISTED", DeliveryStatus.FAILED),
        (204, "DESTINATION_BLOCKED_BY_OPTOUT", DeliveryStatus.FAILED),
        (205, "DESTINATION_MESSAGE_LIMIT_REACHED", DeliveryStatus.FAILED),
        (207, "INVALID_MESSAGE_TEXT", DeliveryStatus.FAILED),
        (301, "INTERNAL_ERROR", DeliveryStatus.FAILED),
        (999, "SOMETHING_NEW", DeliveryStatus.UNKNOWN),
    ],
)
def test_sent_status_callback_codes_map_to_delivery_statuses(code: int, name: str, status: DeliveryStatus) -> None:
    assert parse_one(callback(sentStatusCode=code, sentStatus=name)) == (
        status,
        "f9c100ff-aed0-4456-898c-e57d754c439c",
        REF,
        name,
    )


@pytest.mark.parametrize(
    ("code", "name", "status"),
    [(4, "DELIVERED_SUCCESS", DeliveryStatus.DELIVERED), (104, "NOT_DELIVERED", DeliveryStatus.UNDELIVERED)],
)
def test_dlr_delivered_codes_decide_over_the_sent_code(code: int, name: str, status: DeliveryStatus) -> None:
    assert parse_one(delivery(code, name))[0] is status
    assert parse_one(delivery(code, name))[3] == name


def test_dlr_with_an_unknown_delivered_code_falls_back_to_the_sent_code() -> None:
    assert parse_one(delivery(77, "NEW_STATE"))[0] is DeliveryStatus.SENT


def test_status_names_are_used_when_codes_are_missing() -> None:
    item = callback(sentStatus="NO_CREDIT")
    del item["sentStatusCode"]
    assert parse_one(item)[0] is DeliveryStatus.FAILED
    item = delivery(4, "DELIVERED_SUCCESS")
    del item["deliveredStatusCode"]
    assert parse_one(item)[0] is DeliveryStatus.DELIVERED


def test_codes_sent_as_strings_are_read() -> None:
    assert parse_one(callback(sentStatusCode="2"))[0] is DeliveryStatus.SENT


def test_callback_without_any_status_is_unknown() -> None:
    assert parse_one({"id": "abc"}) == (DeliveryStatus.UNKNOWN, "abc", None, None)


def test_empty_correlation_id_is_no_reference() -> None:
    assert parse_one(callback(correlationId=""))[2] is None


def test_a_list_of_callbacks_is_accepted_and_answered_by_the_service_default() -> None:
    body = json.dumps([callback(), delivery(4, "DELIVERED_SUCCESS")]).encode()
    batch = parse_receipts(body, {"content-type": "application/json"})
    assert [u.status for u in batch.updates] == [DeliveryStatus.SENT, DeliveryStatus.DELIVERED]
    assert batch.response is None


def test_vendor_status_is_bounded() -> None:
    status = parse_one(callback(sentStatusCode=None, sentStatus="X" * 5000))[3]
    assert status is not None
    assert len(status) == 64


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"",
        b"42",
        json.dumps({"sentStatusCode": 2}).encode(),
        json.dumps(callback(id=5)).encode(),
        json.dumps(callback(sentStatusCode="two")).encode(),
        json.dumps([callback(), "x"]).encode(),
    ],
    ids=["garbage", "empty", "number", "no-id", "id-not-str", "code-not-int", "list-with-junk"],
)
def test_bad_callback_bodies_raise_receipt_error(body: bytes) -> None:
    with pytest.raises(ReceiptError):
        parse_receipts(body, {})


async def test_fake_callbacks_match_the_send(fake: FakeWavy, sender: WavySender) -> None:
    receipt = await sender.send(TO, TEXT, reference=REF)
    assert receipt.message_id is not None
    [sent] = parse_receipts(fake.callback_body(receipt.message_id, 2), {}).updates
    [delivered] = parse_receipts(fake.dlr_body(receipt.message_id, 4), {}).updates
    assert (sent.message_id, sent.reference, sent.status) == (receipt.message_id, REF, DeliveryStatus.SENT)
    assert (delivered.message_id, delivered.status) == (receipt.message_id, DeliveryStatus.DELIVERED)
    assert CODE not in msgspec.json.encode([sent, delivered]).decode()
