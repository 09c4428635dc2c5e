"""Gatum adapter against the fake REST API (no network)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import msgspec
import pytest

from providers.base import (
    DeliveryStatus,
    Msisdn,
    ProviderAuthError,
    ProviderDeliveryUnknown,
    ProviderError,
    ProviderProtocolError,
    ProviderRejected,
    ProviderUnavailable,
    ReceiptError,
    SmsSender,
)
from providers.gatum import SPEC, GatumSender, GatumSettings, parse_receipts
from providers.registry import load_vendor_settings
from tests.fakes.gatum import PASSWORD, SETTINGS, FakeGatum, build, env

TO = Msisdn("380", "957225759")
CODE = "482913"
TEXT = f"Your verification code is {CODE}"
REF = "vf_01HZXK3T9Q"


class Clock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def fake() -> FakeGatum:
    return FakeGatum()


@pytest.fixture
async def client(fake: FakeGatum) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.MockTransport(fake.handler)) as client:
        yield client


@pytest.fixture
def sender(client: httpx.AsyncClient) -> GatumSender:
    return build(client)


def yielding(handler: Callable[[httpx.Request], httpx.Response]) -> httpx.MockTransport:
    """A transport that suspends on every request, as a real one does, so concurrent sends interleave."""

    async def handle(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.01)
        return handler(request)

    return httpx.MockTransport(handle)


def body_of(request: httpx.Request) -> Any:
    return json.loads(request.content)


def assert_clean(error: BaseException, *extra: str) -> None:
    """No code, text, secret or unmasked number in what reaches logs and the 503 body."""
    rendered = f"{error} {getattr(error, 'detail', '')} {getattr(error, 'vendor_code', '')}"
    for forbidden in (CODE, TEXT, TO.digits, TO.national_number, PASSWORD, *extra):
        assert forbidden not in rendered, f"{forbidden!r} leaked into {rendered!r}"


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


async def test_token_is_cached_across_sends(fake: FakeGatum, sender: GatumSender) -> None:
    for _ in range(5):
        await sender.send(TO, TEXT, reference=REF)
    assert fake.authorize_calls == 1
    assert fake.logins == 1
    assert len(fake.messages) == 5


async def test_concurrent_first_sends_share_one_login(fake: FakeGatum) -> None:
    async with httpx.AsyncClient(transport=yielding(fake.handler)) as client:
        sender = build(client)
        receipts = await asyncio.gather(*(sender.send(TO, TEXT, reference=f"vf_{i}") for i in range(20)))
    assert fake.authorize_calls == 1
    assert len({r.message_id for r in receipts}) == 20


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


async def test_concurrent_sends_after_expiry_do_one_renewal(fake: FakeGatum) -> None:
    async with httpx.AsyncClient(transport=yielding(fake.handler)) as client:
        sender = build(client)
        await sender.send(TO, TEXT, reference=REF)
        fake.expire_tokens()
        await asyncio.gather(*(sender.send(TO, TEXT, reference=REF) for _ in range(10)))
    assert fake.logins == 2
    assert len(fake.messages) == 11


async def test_token_refused_after_a_fresh_login_is_an_auth_error(fake: FakeGatum, sender: GatumSender) -> None:
    fake.fail_with_status = 401
    with pytest.raises(ProviderAuthError) as caught:
        await sender.send(TO, TEXT, reference=REF)
    assert caught.value.status_code == 401
    assert fake.logins == 2  # the first login and exactly one renewal
    assert len(fake.send_requests()) == 2
    assert_clean(caught.value, *fake.tokens)


async def test_http_403_from_send_is_also_renewed_once(fake: FakeGatum, sender: GatumSender) -> None:
    fake.next_response = httpx.Response(403, json={"status": False, "error_code": 403, "error": "Forbidden"})
    receipt = await sender.send(TO, TEXT, reference=REF)
    assert receipt.message_id is not None
    assert fake.logins == 2


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


async def test_refused_permanent_token_falls_back_to_login_when_credentials_are_set(fake: FakeGatum) -> None:
    settings = GatumSettings(
        base_url="https://gatum.test", access_token="revoked", username="otp-test", password=PASSWORD, sender="Verify"
    )
    async with httpx.AsyncClient(transport=httpx.MockTransport(fake.handler)) as client:
        receipt = await GatumSender(settings, client).send(TO, TEXT, reference=REF)
    assert receipt.message_id is not None
    assert [r.url.path for r in fake.requests] == ["/v1/send", "/v1/authorize", "/v1/accesstoken", "/v1/send"]


async def test_failed_login_is_retried_on_the_next_send(fake: FakeGatum, sender: GatumSender) -> None:
    fake.login_fail_with_status = 503
    with pytest.raises(ProviderUnavailable):
        await sender.send(TO, TEXT, reference=REF)
    fake.login_fail_with_status = None
    assert (await sender.send(TO, TEXT, reference=REF)).message_id is not None


# --- transport and status failures ----------------------------------------------------------------


async def test_connect_timeout_is_unavailable(fake: FakeGatum, sender: GatumSender) -> None:
    fake.raise_exc = httpx.ConnectTimeout
    with pytest.raises(ProviderUnavailable) as caught:
        await sender.send(TO, TEXT, reference=REF)
    assert caught.value.retryable
    assert fake.messages == []


async def test_connect_error_during_login_is_unavailable() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        with pytest.raises(ProviderUnavailable):
            await build(client).send(TO, TEXT, reference=REF)


async def test_read_timeout_on_send_is_delivery_unknown(fake: FakeGatum, sender: GatumSender) -> None:
    fake.raise_exc = httpx.ReadTimeout
    with pytest.raises(ProviderDeliveryUnknown):
        await sender.send(TO, TEXT, reference=REF)


async def test_read_timeout_on_login_is_unavailable_not_delivery_unknown(fake: FakeGatum) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/authorize":
            raise httpx.ReadTimeout("slow", request=request)
        return fake.handler(request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        with pytest.raises(ProviderUnavailable) as caught:
            await build(client).send(TO, TEXT, reference=REF)
    assert not isinstance(caught.value, ProviderDeliveryUnknown)


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
async def test_rate_limit_and_server_errors_on_send_are_unavailable(
    fake: FakeGatum, sender: GatumSender, status: int
) -> None:
    fake.fail_with_status = status
    with pytest.raises(ProviderUnavailable) as caught:
        await sender.send(TO, TEXT, reference=REF)
    assert caught.value.status_code == status


@pytest.mark.parametrize("status", [429, 500, 503])
async def test_rate_limit_and_server_errors_on_login_are_unavailable(
    fake: FakeGatum, sender: GatumSender, status: int
) -> None:
    fake.login_fail_with_status = status
    with pytest.raises(ProviderUnavailable) as caught:
        await sender.send(TO, TEXT, reference=REF)
    assert caught.value.status_code == status
    assert fake.send_requests() == []


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


async def test_no_error_leaks_secrets_codes_or_numbers(fake: FakeGatum) -> None:
    """One sweep over every failure path, looking for anything that must not reach logs."""
    scenarios: list[Callable[[FakeGatum], None]] = [
        lambda f: setattr(f, "password", "changed"),
        lambda f: setattr(f, "fail_with_status", 401),
        lambda f: setattr(f, "fail_with_status", 503),
        lambda f: setattr(f, "raise_exc", httpx.ReadTimeout),
        lambda f: setattr(f, "senders", set()),
        lambda f: setattr(f, "next_response", httpx.Response(400, text=f"bad {TEXT} {TO.e164} {PASSWORD}")),
        lambda f: setattr(f, "next_response", httpx.Response(200, content=f"{TEXT}".encode())),
    ]
    seen: list[ProviderError] = []
    for arrange in scenarios:
        fake = FakeGatum()
        arrange(fake)
        async with httpx.AsyncClient(transport=httpx.MockTransport(fake.handler)) as client:
            with pytest.raises(ProviderError) as caught:
                await build(client).send(TO, TEXT, reference=REF)
        assert_clean(caught.value, *fake.tokens, TO.e164)
        seen.append(caught.value)
    assert len(seen) == len(scenarios)


# --- settings and spec ------------------------------------------------------------------------------


def test_settings_load_from_the_documented_env_vars() -> None:
    settings = load_vendor_settings(SPEC, env())
    assert settings == SETTINGS
    assert SPEC.is_configured(settings)
    assert SPEC.name == "gatum"
    assert SPEC.env_prefix == "GATUM"
    assert SPEC.receipts is parse_receipts


def test_access_token_env_var_configures_without_username() -> None:
    settings = load_vendor_settings(SPEC, {"GATUM_ACCESS_TOKEN": "t0k3n", "GATUM_SENDER": "Verify"})
    assert SPEC.is_configured(settings)


def test_unconfigured_defaults_point_at_the_public_api() -> None:
    settings = GatumSettings()
    assert settings.base_url == "https://restapi.gatum.io"
    assert not SPEC.is_configured(settings)


def test_repr_hides_password_and_access_token() -> None:
    settings = GatumSettings(username="u", password="hunter2-secret", access_token="tok-secret", sender="Verify")
    assert "hunter2-secret" not in repr(settings)
    assert "tok-secret" not in repr(settings)
    assert set(settings.secrets()) == {"hunter2-secret", "tok-secret"}


@pytest.mark.parametrize(
    "fields",
    [
        {"username": "u", "sender": "Verify"},
        {"password": "p", "sender": "Verify"},
        {"username": "u", "password": "p"},
        {"access_token": "t"},
        {"base_url": "restapi.gatum.io"},
    ],
    ids=["username-only", "password-only", "no-sender", "token-no-sender", "no-scheme"],
)
def test_incomplete_settings_are_refused(fields: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="GATUM_"):
        GatumSettings(**fields)


@pytest.mark.parametrize(
    "sender_id", ["Verify", "MyShop-1", "A", "ABCDEFGHIJK", "123", "380957225759", "123456789012345"]
)
def test_valid_sender_ids_are_accepted(sender_id: str) -> None:
    assert GatumSettings(username="u", password="p", sender=sender_id).sender == sender_id


@pytest.mark.parametrize(
    "sender_id", ["12", "1234567890123456", "ABCDEFGHIJKL", "Véri", " Verify", "Ver!fy", "+380957"]
)
def test_invalid_sender_ids_are_refused(sender_id: str) -> None:
    with pytest.raises(ValueError, match="GATUM_SENDER"):
        GatumSettings(username="u", password="p", sender=sender_id)


def test_invalid_sender_in_env_names_the_variable() -> None:
    with pytest.raises(ValueError, match="GATUM"):
        load_vendor_settings(SPEC, {**env(), "GATUM_SENDER": "WayTooLongSender"})


# --- delivery receipts ------------------------------------------------------------------------------


def dlr(**overrides: object) -> dict[str, object]:
    item: dict[str, object] = {
        "id_state": 598933232,
        "originator": "SMS",
        "phone": "380957225759",
        "type_sms": "sms",
        "text_sms": TEXT,
        "num_parts": 1,
        "part_no": 1,
        "state": "DELIVRD",
        "time": "2023-07-24 12:03:48",
    }
    item.update(overrides)
    return item


@pytest.mark.parametrize(
    ("state", "status"),
    [
        ("DELIVRD", DeliveryStatus.DELIVERED),
        ("UNDELIV", DeliveryStatus.UNDELIVERED),
        ("EXPIRED", DeliveryStatus.UNDELIVERED),
        ("REJECTD", DeliveryStatus.FAILED),
        ("ACCEPTD", DeliveryStatus.SENT),
        ("ENROUTE", DeliveryStatus.SENT),
        ("UNKNOWN", DeliveryStatus.UNKNOWN),
        ("DELETED", DeliveryStatus.UNKNOWN),
        ("delivrd", DeliveryStatus.DELIVERED),
    ],
)
def test_dlr_states_map_to_delivery_statuses(state: str, status: DeliveryStatus) -> None:
    batch = parse_receipts(json.dumps([dlr(state=state)]).encode(), {})
    [update] = batch.updates
    assert update.status is status
    assert update.message_id == "598933232"
    assert update.reference is None
    assert update.vendor_status == state.upper()


def test_dlr_batch_is_acknowledged_with_the_id_state_values_as_strings() -> None:
    body = json.dumps([dlr(id_state=1), dlr(id_state="2", state="UNDELIV"), dlr(id_state=3, part_no=2)]).encode()
    batch = parse_receipts(body, {"content-type": "application/json"})
    assert batch.response == ["1", "2", "3"]
    assert [u.message_id for u in batch.updates] == ["1", "2", "3"]
    assert [u.status for u in batch.updates] == [
        DeliveryStatus.DELIVERED,
        DeliveryStatus.UNDELIVERED,
        DeliveryStatus.DELIVERED,
    ]


def test_empty_dlr_array_is_acknowledged_with_an_empty_list() -> None:
    batch = parse_receipts(b"[]", {})
    assert batch.updates == []
    assert batch.response == []


def test_dlr_text_with_the_code_is_never_copied() -> None:
    batch = parse_receipts(json.dumps([dlr()]).encode(), {})
    assert CODE not in msgspec.json.encode(batch).decode()
    assert CODE not in repr(batch)


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"",
        json.dumps(dlr()).encode(),  # an object, not the documented array
        json.dumps([{"state": "DELIVRD"}]).encode(),
        json.dumps([dlr(id_state=None)]).encode(),
        json.dumps([dlr(id_state=True)]).encode(),
        json.dumps([dlr(state=3)]).encode(),
        json.dumps(["598933232"]).encode(),
    ],
    ids=["garbage", "empty", "object", "no-id", "null-id", "bool-id", "state-not-str", "bare-ids"],
)
def test_bad_dlr_bodies_raise_receipt_error(body: bytes) -> None:
    with pytest.raises(ReceiptError) as caught:
        parse_receipts(body, {})
    assert CODE not in str(caught.value)


async def test_fake_dlr_matches_the_message_id_of_the_send(fake: FakeGatum, sender: GatumSender) -> None:
    receipt = await sender.send(TO, TEXT, reference=REF)
    assert receipt.message_id is not None
    batch = parse_receipts(fake.dlr_body(receipt.message_id, "DELIVRD"), {})
    assert batch.updates[0].message_id == receipt.message_id
    assert batch.updates[0].status is DeliveryStatus.DELIVERED
    assert batch.response == [receipt.message_id]
