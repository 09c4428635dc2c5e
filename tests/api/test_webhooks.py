"""Delivery receipts: ``POST /v1/webhooks/{provider}/{secret}`` with each vendor's own payload (API.md).

Each test sends a real verification through one vendor fake, then posts the receipt that vendor
would post (built by the fake's ``dlr_body`` / ``receipt_body`` / ``callback_body`` helpers where it
has one), and reads the result back through ``GET /v1/verifications/{id}``.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from otp_service.devredis import RedisProcess
from tests.api.helpers import NUMBER, Client, assert_problem, patch_settings, send
from tests.conftest import ADMIN_TOKEN, API_KEY, CLIENT, WEBHOOK_SECRET, Vendors, build_app, make_settings

PROVIDERS = ["message_central", "gatum", "wavy", "instasent", "conectaline"]
JSON = {"Content-Type": "application/json"}


def hook(provider: str, secret: str = WEBHOOK_SECRET) -> str:
    return f"/v1/webhooks/{provider}/{secret}"


async def send_through(client: Client, provider: str, to: str = NUMBER) -> str:
    await patch_settings(client, providers=[provider])
    response = await send(client, to)
    assert response.status_code == 201, response.text
    assert response.json()["provider"] == provider
    vid: str = response.json()["id"]
    return vid


async def delivery(client: Client, vid: str) -> dict[str, Any]:
    response = await client.get(f"/v1/verifications/{vid}", headers=CLIENT)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()["delivery"]
    return body


def receipt_for(vendors: Vendors, provider: str, state: str) -> bytes:
    """The callback ``provider`` posts for the last message it accepted, in the state named ``state``
    (``sent`` / ``delivered`` / ``undelivered``), in the vendor's own words."""
    if provider == "message_central":
        words = {"delivered": "DELIVRD", "undelivered": "UNDELIV"}
        return vendors.message_central.dlr_body(vendors.message_central.messages[-1]["message_id"], words[state])
    if provider == "gatum":
        words = {"sent": "ACCEPTD", "delivered": "DELIVRD", "undelivered": "UNDELIV"}
        return vendors.gatum.dlr_body(vendors.gatum.messages[-1]["sent_id"], words[state])
    if provider == "wavy":
        message_id = vendors.wavy.messages[-1]["id"]
        if state == "sent":
            return vendors.wavy.callback_body(message_id, 2)
        return vendors.wavy.dlr_body(message_id, {"delivered": 4, "undelivered": 104}[state])
    if provider == "instasent":
        words = {"sent": "sent", "delivered": "delivered", "undelivered": "expired"}
        return vendors.instasent.receipt_body(vendors.instasent.messages[-1]["id"], words[state])
    assert provider == "conectaline"  # no documented callback: the adapter's tolerant guess
    return json.dumps({"id": vendors.conectaline.messages[-1]["id"], "status": state}).encode()


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_receipt_updates_the_delivery_status(client: Client, vendors: Vendors, provider: str) -> None:
    vid = await send_through(client, provider)
    before = await delivery(client, vid)
    assert before["status"] == "queued"
    response = await client.post(hook(provider), content=receipt_for(vendors, provider, "delivered"), headers=JSON)
    assert response.status_code == 200, response.text
    after = await delivery(client, vid)
    assert after["status"] == "delivered"
    assert after["provider"] == provider


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_an_undelivered_receipt_is_reported(client: Client, vendors: Vendors, provider: str) -> None:
    vid = await send_through(client, provider)
    response = await client.post(hook(provider), content=receipt_for(vendors, provider, "undelivered"), headers=JSON)
    assert response.status_code == 200, response.text
    assert (await delivery(client, vid))["status"] == "undelivered"


async def test_message_central_receipt_naming_the_verification_id_is_matched(client: Client, vendors: Vendors) -> None:
    """The service indexes MC's verificationId as well as its transactionId, because MC's DLR may name
    either; a receipt that names the verificationId must update the verification."""
    vid = await send_through(client, "message_central")
    verification_id = vendors.message_central.last_verification_id
    body = vendors.message_central.dlr_body(verification_id, "DELIVRD")
    response = await client.post(hook("message_central"), content=body, headers=JSON)
    assert response.status_code == 200, response.text
    assert (await delivery(client, vid))["status"] == "delivered"


async def test_gatum_is_answered_with_the_id_state_values_as_strings(client: Client, vendors: Vendors) -> None:
    vid = await send_through(client, "gatum")
    sent_id = vendors.gatum.messages[-1]["sent_id"]
    body = json.loads(vendors.gatum.dlr_body(sent_id, "DELIVRD"))
    body.append({**body[0], "id_state": 111222333, "state": "UNDELIV"})  # a second report, for a message we never sent
    response = await client.post(hook("gatum"), content=json.dumps(body).encode(), headers=JSON)
    assert response.status_code == 200
    assert response.json() == [str(sent_id), "111222333"]
    assert (await delivery(client, vid))["status"] == "delivered"


async def test_wavy_sent_callback_then_dlr_moves_sent_then_delivered(client: Client, vendors: Vendors) -> None:
    vid = await send_through(client, "wavy")
    message_id = vendors.wavy.messages[-1]["id"]
    assert (await client.post(hook("wavy"), content=vendors.wavy.callback_body(message_id, 2))).status_code == 200
    assert (await delivery(client, vid))["status"] == "sent"
    assert (await client.post(hook("wavy"), content=vendors.wavy.dlr_body(message_id, 4))).status_code == 200
    assert (await delivery(client, vid))["status"] == "delivered"


@pytest.mark.parametrize("provider", ["gatum", "wavy", "instasent"])
async def test_a_late_sent_after_delivered_does_not_move_it_back(
    client: Client, vendors: Vendors, provider: str
) -> None:
    vid = await send_through(client, provider)
    delivered = receipt_for(vendors, provider, "delivered")
    late = receipt_for(vendors, provider, "sent")
    assert (await client.post(hook(provider), content=delivered, headers=JSON)).status_code == 200
    assert (await client.post(hook(provider), content=late, headers=JSON)).status_code == 200
    assert (await delivery(client, vid))["status"] == "delivered"


async def test_wavy_receipt_for_a_send_whose_reply_was_lost_is_matched_by_correlation_id(
    client: Client, vendors: Vendors, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Wavy took the message but its reply never arrived (delivery unknown, no Wavy id stored): the
    DLR still finds the verification through the correlationId, and settles the unknown."""
    accept = vendors.wavy.handler

    def reply_lost(request: httpx.Request) -> httpx.Response:
        accept(request)
        raise httpx.ReadTimeout("reply lost", request=request)

    monkeypatch.setattr(vendors.wavy, "handler", reply_lost)
    vid = await send_through(client, "wavy")
    assert (await delivery(client, vid))["status"] == "unknown"
    body = vendors.wavy.dlr_body(vendors.wavy.messages[-1]["id"], 4)
    assert json.loads(body)["correlationId"] == vid
    assert (await client.post(hook("wavy"), content=body)).status_code == 200
    assert (await delivery(client, vid))["status"] == "delivered"


async def test_a_receipt_for_the_message_a_resend_replaced_changes_nothing(client: Client, vendors: Vendors) -> None:
    """A resend keeps the id (and Wavy's correlationId) but sends a new message: a late DLR for the
    first message must not speak for the second."""
    await patch_settings(client, resend_cooldown_seconds=0)
    vid = await send_through(client, "wavy")
    first = vendors.wavy.messages[-1]["id"]
    assert (await send(client)).json()["id"] == vid
    assert (await client.post(hook("wavy"), content=vendors.wavy.dlr_body(first, 104))).status_code == 200
    assert (await delivery(client, vid))["status"] == "queued"


UNKNOWN_IDS: dict[str, bytes] = {
    "message_central": json.dumps({"messageId": "no-such-message", "status": "DELIVRD"}).encode(),
    "gatum": json.dumps([{"id_state": 999999999, "state": "DELIVRD"}]).encode(),
    "wavy": json.dumps({"id": "no-such-message", "sentStatusCode": 2, "deliveredStatusCode": 4}).encode(),
    "instasent": json.dumps({"id": "sms-999999", "clientId": None, "status": "delivered", "code": 0}).encode(),
    "conectaline": json.dumps({"id": "999999", "status": "delivered"}).encode(),
}


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_an_unknown_message_id_is_accepted_and_changes_nothing(
    client: Client, vendors: Vendors, provider: str
) -> None:
    vid = await send_through(client, provider)
    before = await delivery(client, vid)
    response = await client.post(hook(provider), content=UNKNOWN_IDS[provider], headers=JSON)
    assert response.status_code == 200, response.text
    if provider != "gatum":  # Gatum is answered with its own ids
        assert response.json()["applied"] == 0
    assert await delivery(client, vid) == before


MALFORMED: dict[str, list[bytes]] = {
    "message_central": [b"not json", b'{"messageId": "x"}', b"[1, 2]"],
    "gatum": [b'{"id_state": 1, "state": "DELIVRD"}', b'[{"state": "DELIVRD"}]', b"<xml/>"],
    "wavy": [b'{"correlationId": "vf_x"}', b"[1]", b"{"],
    "instasent": [b'{"id": "sms-1"}', b"[]", b"\xff\xfe"],
    "conectaline": [b'{"id": "1"}', b"[1, 2]", b'{"status": "delivered"}'],
}


@pytest.mark.parametrize(
    ("provider", "body"), [(p, b) for p, bodies in MALFORMED.items() for b in bodies], ids=lambda v: str(v)[:24]
)
async def test_a_malformed_body_is_400_validation_error(client: Client, provider: str, body: bytes) -> None:
    response = await client.post(hook(provider), content=body, headers=JSON)
    assert_problem(response, 400, "validation_error")


# A receipt nobody can read: past the decoder's recursion limit (also inside a field it skips), or not UTF-8.
NESTED = b'{"nested": ' + b'{"x": ' * 3000 + b"1" + b"}" * 3000 + b"}"
UNREADABLE = {
    "nested_3000_deep": NESTED,
    "nested_3000_deep_in_a_list": b"[" + NESTED + b"]",
    "invalid_utf8": b'{"id": "\xff", "status": "\xc3\x28", "messageId": "\xff", "state": "\xff"}',
}
RECEIPT_CAP = 64 * 1024


@pytest.mark.parametrize("body", UNREADABLE.values(), ids=UNREADABLE.keys())
@pytest.mark.parametrize("provider", PROVIDERS)
async def test_an_unreadable_receipt_is_400_and_changes_nothing(
    client: Client, vendors: Vendors, provider: str, body: bytes
) -> None:
    vid = await send_through(client, provider)
    before = await delivery(client, vid)
    assert_problem(await client.post(hook(provider), content=body, headers=JSON), 400, "validation_error")
    assert await delivery(client, vid) == before


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_receipt_over_64_kib_is_413_and_changes_nothing(
    client: Client, vendors: Vendors, provider: str
) -> None:
    """Receipts get the cap vendor replies get; a real one is a few hundred bytes."""
    vid = await send_through(client, provider)
    receipt = receipt_for(vendors, provider, "delivered")
    too_long = receipt + b" " * (RECEIPT_CAP + 1 - len(receipt))  # still valid JSON: trailing blanks
    assert_problem(await client.post(hook(provider), content=too_long, headers=JSON), 413, "validation_error")
    assert (await delivery(client, vid))["status"] == "queued"
    at_the_cap = receipt + b" " * (RECEIPT_CAP - len(receipt))
    assert (await client.post(hook(provider), content=at_the_cap, headers=JSON)).status_code == 200
    assert (await delivery(client, vid))["status"] == "delivered"


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_wrong_secret_is_404_and_applies_nothing(client: Client, vendors: Vendors, provider: str) -> None:
    vid = await send_through(client, provider)
    body = receipt_for(vendors, provider, "delivered")
    for secret in ("wrong-secret", WEBHOOK_SECRET[:-1], WEBHOOK_SECRET + "x", API_KEY):
        assert_problem(await client.post(hook(provider, secret), content=body, headers=JSON), 404, "not_found")
    assert (await delivery(client, vid))["status"] == "queued"


@pytest.mark.parametrize("provider", ["twilio", "console", "GATUM", "gatum.json"])
async def test_an_unknown_provider_is_404(client: Client, provider: str) -> None:
    response = await client.post(hook(provider), content=b"[]", headers=JSON)
    assert_problem(response, 404, "not_found")


async def test_a_wrong_secret_and_an_unknown_provider_look_the_same(client: Client) -> None:
    wrong_secret = await client.post(hook("gatum", "nope"), content=b"[]")
    unknown = await client.post(hook("twilio"), content=b"[]")
    assert wrong_secret.status_code == unknown.status_code == 404
    assert wrong_secret.json()["detail"] == unknown.json()["detail"]


async def test_no_log_line_shows_a_webhook_path_secret(
    redis_server: RedisProcess, redis: Redis, vendors: Vendors, capsys: pytest.CaptureFixture[str]
) -> None:
    """The right secret is also on the redactor's list, so the wrong ones are what prove the path
    itself is never logged: nothing masks them but the service not logging the raw path."""
    wrong_secrets = ["guess-0f3a9c2b7e", "guess-with-dots.and_underscores"]
    settings = make_settings(OTP_REDIS_URL=redis_server.url)
    async with AsyncTestClient(build_app(settings, vendors)) as client:  # logs to the captured stderr
        vid = await send_through(client, "gatum")
        await client.post(hook("gatum"), content=receipt_for(vendors, "gatum", "delivered"), headers=JSON)
        await client.post(hook("gatum"), content=b"{broken", headers=JSON)  # 400
        await client.post(hook("twilio"), content=b"[]")  # unknown provider
        for secret in wrong_secrets:
            await client.post(hook("gatum", secret), content=b"[]")
            await client.get(hook("gatum", secret))  # a method the route does not have
            await client.post(f"{hook('gatum', secret)}/extra", content=b"[]")  # no such route at all
        assert (await delivery(client, vid))["status"] == "delivered"
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    webhook_lines = [line for line in lines if "webhooks" in line]
    assert len(webhook_lines) == 9, lines  # every webhook request was logged, just not its secret
    logged = "\n".join(lines)
    for secret in [WEBHOOK_SECRET, *wrong_secrets, ADMIN_TOKEN, API_KEY]:
        assert secret not in logged, secret
