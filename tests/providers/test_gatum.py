"""Gatum adapter against the fake REST API (no network)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from providers.base import (
    DeliveryStatus,
    Msisdn,
    ProviderAuthError,
    ProviderProtocolError,
    ProviderRejected,
    SmsSender,
)
from providers.gatum import GatumSender, GatumSettings, parse_receipts
from tests.fakes.gatum import PASSWORD, SETTINGS, FakeGatum, build
from tests.providers.conftest import BY_ID, Adapter, Clock
from tests.providers.conftest import assert_clean as assert_free_of

TO = Msisdn("380", "957225759")
CODE = "482913"
TEXT = f"Your verification code is {CODE}"
REF = "vf_01HZXK3T9Q"


def assert_clean(error: BaseException, *extra: str) -> None:
    assert_free_of(error, (CODE, TEXT, TO.digits, TO.national_number, PASSWORD, *extra))


@pytest.fixture
def case() -> Adapter:
    return BY_ID["gatum"]


@pytest.fixture
def sender(client: httpx.AsyncClient) -> GatumSender:
    return build(client)


def body_of(request: httpx.Request) -> Any:
    return json.loads(request.content)


# --- happy path -------------------------------------------------------------------------------------


async def test_send_logs_in_then_posts_a_one_message_array_with_the_access_token(
    fake: FakeGatum, sender: GatumSender
) -> None:
    receipt = await sender.send(TO, TEXT, reference=REF)

    assert [(r.method, r.url.host, r.url.path) for r in fake.requests] == [
        ("POST", "gatum.test", "/v1/authorize"),
        ("POST", "gatum.test", "/v1/accesstoken"),
        ("POST", "gatum.test", "/v1/send"),
    ]
    authorize, accesstoken, send = fake.requests
    assert body_of(authorize) == {"username": "otp-test", "password": PASSWORD}
    assert set(body_of(accesstoken)) == {"authorization_code"}
    token = send.headers["X-Access-Token"]
    assert token in fake.tokens
    assert send.headers["Content-Type"] == "application/json"
    assert body_of(send) == [
        {"number": ["380957225759"], "senderID": "Verify", "text": TEXT, "type": "sms", "delivery": True}
    ]
    assert fake.messages[0]["to"] == "380957225759"
    assert fake.messages[0]["text"] == TEXT
    assert receipt.provider == "gatum"
    assert receipt.message_id == str(fake.messages[0]["sent_id"])


async def test_adapter_satisfies_the_sms_sender_protocol(sender: GatumSender) -> None:
    assert isinstance(sender, SmsSender)
    assert sender.name == "gatum"
    assert sender.max_length == 1530


async def test_urls_are_built_from_the_configured_white_label_base_url(fake: FakeGatum) -> None:
    settings = GatumSettings(
        base_url="https://restapi.vendor.test/", username="otp-test", password=PASSWORD, sender="Verify"
    )
    async with httpx.AsyncClient(
        transport=httpx.MockTransport(fake.handler), base_url="https://ignored.test"
    ) as client:
        await GatumSender(settings, client).send(TO, TEXT, reference=REF)
    assert {str(r.url) for r in fake.requests} == {
        "https://restapi.vendor.test/v1/authorize",
        "https://restapi.vendor.test/v1/accesstoken",
        "https://restapi.vendor.test/v1/send",
    }


async def test_text_longer_than_max_length_is_rejected_before_any_request(fake: FakeGatum, sender: GatumSender) -> None:
    with pytest.raises(ProviderRejected) as caught:
        await sender.send(TO, "x" * 1531, reference=REF)
    assert fake.requests == []
    assert not isinstance(caught.value, ProviderAuthError)


# --- credentials and token lifecycle ----------------------------------------------------------------


async def test_wrong_credentials_raise_auth_error_without_echoing_the_password() -> None:
    fake = FakeGatum(password="another-password")
    async with httpx.AsyncClient(transport=httpx.MockTransport(fake.handler)) as client:
        with pytest.raises(ProviderAuthError) as caught:
            await build(client).send(TO, TEXT, reference=REF)
    assert caught.value.status_code == 400
    assert "Incorrect username or password" in caught.value.detail
    assert fake.send_requests() == []
    assert_clean(caught.value)


async def test_invalid_authorization_code_is_an_auth_error(fake: FakeGatum) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/accesstoken":
            return httpx.Response(
                400, json={"status": False, "error_code": 400, "errors": {"authorization_code": ["bad"]}}
            )
        return fake.handler(request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        with pytest.raises(ProviderAuthError) as caught:
            await build(client).send(TO, TEXT, reference=REF)
    assert "accesstoken" in caught.value.detail


async def test_login_error_echoing_the_username_does_not_become_the_vendor_code(fake: FakeGatum) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, json={"status": False, "error_code": 400, "errors": {"username": ["otp-test"]}})

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        with pytest.raises(ProviderAuthError) as caught:
            await build(client).send(TO, TEXT, reference=REF)
    assert caught.value.vendor_code == "400"
    assert_clean(caught.value, "otp-test")


async def test_token_is_renewed_shortly_before_expires_at() -> None:
    clock = Clock()
    fake = FakeGatum(token_ttl_s=3600, clock=clock)
    async with httpx.AsyncClient(transport=httpx.MockTransport(fake.handler)) as client:
        sender = GatumSender(SETTINGS, client, clock=clock)
        await sender.send(TO, TEXT, reference=REF)
        clock.now += 3600 - 400  # still more than the refresh margin left: reuse
        await sender.send(TO, TEXT, reference=REF)
        assert fake.logins == 1
        clock.now += 200  # 200 s before expires_at: renew proactively, no 401 round trip
        await sender.send(TO, TEXT, reference=REF)
    assert fake.logins == 2
    assert len(fake.send_requests()) == 3
    assert fake.send_requests()[-1].headers["X-Access-Token"] != fake.send_requests()[0].headers["X-Access-Token"]


async def test_token_without_expires_at_is_kept_for_an_hour(fake: FakeGatum) -> None:
    clock = Clock()

    def handler(request: httpx.Request) -> httpx.Response:
        response = fake.handler(request)
        if request.url.path == "/v1/accesstoken":
            payload = json.loads(response.content)
            del payload["data"]["expires_at"]
            return httpx.Response(200, json=payload)
        return response

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        sender = GatumSender(SETTINGS, client, clock=clock)
        await sender.send(TO, TEXT, reference=REF)
        clock.now += 3000
        await sender.send(TO, TEXT, reference=REF)
        assert fake.logins == 1
        clock.now += 400
        await sender.send(TO, TEXT, reference=REF)
    assert fake.logins == 2


async def test_token_reported_already_expired_does_not_cause_a_login_per_send(fake: FakeGatum) -> None:
    clock = Clock()

    def handler(request: httpx.Request) -> httpx.Response:
        response = fake.handler(request)
        if request.url.path == "/v1/accesstoken":
            payload = json.loads(response.content)
            payload["data"]["expires_at"] = int(clock.now) - 10  # vendor clock behind ours
            return httpx.Response(200, json=payload)
        return response

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        sender = GatumSender(SETTINGS, client, clock=clock)
        for _ in range(3):
            await sender.send(TO, TEXT, reference=REF)
    assert fake.logins == 1


async def test_expired_token_is_renewed_once_and_send_retried(fake: FakeGatum, sender: GatumSender) -> None:
    await sender.send(TO, TEXT, reference=REF)
    fake.expire_tokens()

    receipt = await sender.send(TO, TEXT, reference=REF)

    assert fake.logins == 2
    statuses = [r.url.path for r in fake.requests]
    assert statuses.count("/v1/send") == 3  # ok, 401, retried ok
    assert receipt.message_id == str(fake.messages[-1]["sent_id"])
    assert len(fake.messages) == 2


async def test_status_false_with_error_code_401_is_treated_as_a_refused_token(
    fake: FakeGatum, sender: GatumSender
) -> None:
    fake.next_response = httpx.Response(200, json={"status": False, "error_code": 401, "error": "Token expired"})
    receipt = await sender.send(TO, TEXT, reference=REF)
    assert receipt.message_id == str(fake.messages[-1]["sent_id"])
    assert fake.logins == 2


async def test_permanent_access_token_skips_the_login(fake: FakeGatum) -> None:
    token = fake.issue_token()
    settings = GatumSettings(base_url="https://gatum.test", access_token=token, sender="Verify")
    async with httpx.AsyncClient(transport=httpx.MockTransport(fake.handler)) as client:
        await GatumSender(settings, client).send(TO, TEXT, reference=REF)
    assert [r.url.path for r in fake.requests] == ["/v1/send"]
    assert fake.requests[0].headers["X-Access-Token"] == token


async def test_refused_permanent_token_without_credentials_is_an_auth_error(fake: FakeGatum) -> None:
    settings = GatumSettings(base_url="https://gatum.test", access_token="revoked-cabinet-token", sender="Verify")
    async with httpx.AsyncClient(transport=httpx.MockTransport(fake.handler)) as client:
        with pytest.raises(ProviderAuthError) as caught:
            await GatumSender(settings, client).send(TO, TEXT, reference=REF)
    assert fake.authorize_calls == 0
    assert_clean(caught.value, "revoked-cabinet-token")


async def test_without_any_credential_the_send_fails_before_any_request(fake: FakeGatum) -> None:
    async with httpx.AsyncClient(transport=httpx.MockTransport(fake.handler)) as client:
        with pytest.raises(ProviderAuthError):
            await GatumSender(GatumSettings(base_url="https://gatum.test", sender="Verify"), client).send(
                TO, TEXT, reference=REF
            )
    assert fake.requests == []


async def test_login_refused_without_a_readable_body_is_an_auth_error(fake: FakeGatum) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, text="<html>Unauthorized</html>")

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        with pytest.raises(ProviderAuthError) as caught:
            await build(client).send(TO, TEXT, reference=REF)
    assert caught.value.detail == "login refused at /v1/authorize (HTTP 401)"


async def test_refused_permanent_token_falls_back_to_login_when_credentials_are_set(fake: FakeGatum) -> None:
    settings = GatumSettings(
        base_url="https://gatum.test", access_token="revoked", username="otp-test", password=PASSWORD, sender="Verify"
    )
    async with httpx.AsyncClient(transport=httpx.MockTransport(fake.handler)) as client:
        receipt = await GatumSender(settings, client).send(TO, TEXT, reference=REF)
    assert receipt.message_id is not None
    assert [r.url.path for r in fake.requests] == ["/v1/send", "/v1/authorize", "/v1/accesstoken", "/v1/send"]


# --- business errors ----------------------------------------------------------------------------------


async def test_unregistered_sender_id_is_rejected_with_its_vendor_code() -> None:
    fake = FakeGatum(senders=("Other",))
    async with httpx.AsyncClient(transport=httpx.MockTransport(fake.handler)) as client:
        with pytest.raises(ProviderRejected) as caught:
            await build(client).send(TO, TEXT, reference=REF)
    assert not isinstance(caught.value, ProviderAuthError)
    assert caught.value.vendor_code == "not_registr_originator"
    assert caught.value.status_code == 400
    assert_clean(caught.value)


async def test_validation_errors_are_rejected_with_echoed_input_scrubbed(fake: FakeGatum, sender: GatumSender) -> None:
    fake.next_response = httpx.Response(
        400,
        json={
            "status": False,
            "error_code": 400,
            "errors": {
                "number": [f"Number {TO.digits} is not valid"],
                "text": [f"Text '{TEXT}' is not allowed", f"contains {CODE}"],
            },
        },
    )
    with pytest.raises(ProviderRejected) as caught:
        await sender.send(TO, TEXT, reference=REF)
    assert caught.value.vendor_code == "400"
    assert "number: Number *** is not valid" in caught.value.detail
    assert "+380******759" in caught.value.detail
    assert_clean(caught.value)


async def test_status_false_with_http_200_is_rejected(fake: FakeGatum, sender: GatumSender) -> None:
    fake.next_response = httpx.Response(200, json={"status": False, "error": "Insufficient balance"})
    with pytest.raises(ProviderRejected) as caught:
        await sender.send(TO, TEXT, reference=REF)
    assert "Insufficient balance" in caught.value.detail
    assert caught.value.status_code == 200


async def test_non_json_client_error_is_rejected_with_a_bounded_excerpt(fake: FakeGatum, sender: GatumSender) -> None:
    fake.next_response = httpx.Response(404, text=f"<html>no route for {TO.digits} {'x' * 500}</html>")
    with pytest.raises(ProviderRejected) as caught:
        await sender.send(TO, TEXT, reference=REF)
    assert caught.value.status_code == 404
    assert len(caught.value.detail) < 260
    assert_clean(caught.value)


# --- unexpected shapes ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [b"<html>ok</html>", b"", b'{"data": []}', b'{"status": "yes"}', b"[1, 2]"],
    ids=["html", "empty", "no-status", "status-not-bool", "array"],
)
async def test_unparseable_success_body_is_a_protocol_error(fake: FakeGatum, sender: GatumSender, body: bytes) -> None:
    fake.next_response = httpx.Response(200, content=body)
    with pytest.raises(ProviderProtocolError) as caught:
        await sender.send(TO, TEXT, reference=REF)
    assert caught.value.status_code == 200


@pytest.mark.parametrize(
    ("data", "message_id"),
    [
        ([{"sending": {"details": {"number": ["380957225759"], "senderID": "Verify", "sentID": 77}}}], "77"),
        ({"sentID": "abc-1"}, "abc-1"),
        ([{"sending": {"details": {"number": ["380957225759"]}}}], None),
        ([], None),
        (None, None),
    ],
    ids=["documented-guess", "flat", "no-sent-id", "empty", "null"],
)
async def test_success_reply_is_read_tolerantly(
    fake: FakeGatum, sender: GatumSender, data: object, message_id: str | None
) -> None:
    fake.next_response = httpx.Response(200, json={"status": True, "data": data})
    receipt = await sender.send(TO, TEXT, reference=REF)
    assert receipt.message_id == message_id


@pytest.mark.parametrize(
    ("path", "payload"),
    [
        ("/v1/authorize", {"status": True, "data": {}}),
        ("/v1/authorize", {"status": True}),
        ("/v1/accesstoken", {"status": True, "data": {"expires_at": 2006432128}}),
        ("/v1/accesstoken", {"status": True, "data": {"access_token": 5}}),
    ],
)
async def test_login_reply_without_the_expected_fields_is_a_protocol_error(
    fake: FakeGatum, path: str, payload: object
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == path:
            return httpx.Response(200, json=payload)
        return fake.handler(request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        with pytest.raises(ProviderProtocolError) as caught:
            await build(client).send(TO, TEXT, reference=REF)
    assert caught.value.status_code == 200


async def test_fake_dlr_matches_the_message_id_of_the_send(fake: FakeGatum, sender: GatumSender) -> None:
    receipt = await sender.send(TO, TEXT, reference=REF)
    assert receipt.message_id is not None
    batch = parse_receipts(fake.dlr_body(receipt.message_id, "DELIVRD"), {})
    assert batch.updates[0].message_id == receipt.message_id
    assert batch.updates[0].status is DeliveryStatus.DELIVERED
    assert batch.response == [receipt.message_id]
