"""WhatsApp through Message Central VerifyNow, and its fallback to SMS within the same verification.

The route is Message Central then Gatum. A WhatsApp code is made by Message Central
(``flowType=WHATSAPP``); when it cannot be delivered the same verification gets an SMS with a new code.
While Message Central still holds the pending WhatsApp verification it answers 506 to another send to
the number, so the fallback SMS goes through Gatum with our own code (domain/fallback.py).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.api.helpers import NUMBER, Client, check, patch_settings, send, wrong
from tests.conftest import CLIENT, WEBHOOK_SECRET, Vendors
from tests.fakes.message_central import SEND_PATH, VALIDATE_PATH, FakeMessageCentral

JSON = {"Content-Type": "application/json"}
DIGITS = NUMBER.removeprefix("+")
HOOK = f"/v1/webhooks/message_central/{WEBHOOK_SECRET}"


@pytest.fixture
async def mc(client: Client, vendors: Vendors) -> FakeMessageCentral:
    await patch_settings(client, providers=["message_central", "gatum"])
    return vendors.message_central


async def status(client: Client, vid: str) -> dict[str, Any]:
    response = await client.get(f"/v1/verifications/{vid}", headers=CLIENT)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def start_whatsapp(client: Client, mc: FakeMessageCentral) -> dict[str, Any]:
    response = await send(client, channel="whatsapp")
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    assert (body["channel"], body["channels"], body["fallback_reason"]) == ("whatsapp", ["whatsapp"], None)
    assert mc.messages[-1]["flow"] == "WHATSAPP"
    return body


async def until_sms(client: Client, vid: str, within_s: float = 8.0) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + within_s
    while True:
        body = await status(client, vid)
        if body["channel"] == "sms" or asyncio.get_running_loop().time() > deadline:
            return body
        await asyncio.sleep(0.1)


async def test_a_whatsapp_code_is_sent_and_checked_through_message_central(
    client: Client, mc: FakeMessageCentral
) -> None:
    body = await start_whatsapp(client, mc)
    send_call = mc.calls(SEND_PATH)[-1]
    assert (send_call.url.params["flowType"], send_call.url.params["type"]) == ("WHATSAPP", "OTP")
    assert (await status(client, body["id"]))["channel"] == "whatsapp"
    assert (await check(client, mc.last_code)).json()["valid"] is True
    assert mc.calls(VALIDATE_PATH)[-1].url.params["flowType"] == "WHATSAPP"


async def test_sms_stays_the_default_channel(client: Client, mc: FakeMessageCentral) -> None:
    body = (await send(client)).json()
    assert (body["channel"], body["channels"], body["fallback_reason"]) == ("sms", ["sms"], None)
    assert mc.messages[-1]["flow"] == "SMS"


async def test_a_refused_whatsapp_send_falls_back_to_sms_in_the_same_request(
    client: Client, mc: FakeMessageCentral
) -> None:
    mc.no_whatsapp.add(DIGITS)
    response = await send(client, channel="whatsapp")
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["channel"], body["channels"], body["fallback_reason"]) == ("sms", ["whatsapp", "sms"], "refused")
    assert mc.messages[-1]["flow"] == "SMS"
    assert (await status(client, body["id"]))["fallback_reason"] == "refused"
    assert (await check(client, mc.last_code)).json()["valid"] is True


async def test_an_undelivered_whatsapp_receipt_sends_an_sms_with_a_new_code(
    client: Client, mc: FakeMessageCentral, vendors: Vendors
) -> None:
    body = await start_whatsapp(client, mc)
    whatsapp_code = mc.last_code
    receipt = mc.dlr_body(str(mc.messages[-1]["message_id"]), "UNDELIV")
    assert (await client.post(HOOK, content=receipt, headers=JSON)).status_code == 200

    after = await status(client, body["id"])
    assert (after["channel"], after["channels"], after["fallback_reason"]) == (
        "sms",
        ["whatsapp", "sms"],
        "undelivered",
    )
    assert after["provider"] == "gatum" and after["attempts_left"] == body["attempts_left"]
    sms_code = _code_in(vendors.last_text("gatum"))
    stale = whatsapp_code if whatsapp_code != sms_code else wrong(sms_code)
    assert (await check(client, stale)).json()["valid"] is False  # the WhatsApp code stopped being valid
    assert (await check(client, sms_code)).json()["valid"] is True


async def test_a_whatsapp_code_without_a_receipt_within_the_wait_falls_back_once(
    client: Client, mc: FakeMessageCentral, vendors: Vendors
) -> None:
    await patch_settings(client, whatsapp_fallback_seconds=1)
    body = await start_whatsapp(client, mc)
    after = await until_sms(client, body["id"])  # the app's own sweeper finds the deadline
    assert (after["channel"], after["fallback_reason"]) == ("sms", "no_receipt")
    await asyncio.sleep(0.5)
    assert len(vendors.gatum.messages) == 1
    assert (await check(client, _code_in(vendors.last_text("gatum")))).json()["valid"] is True


async def test_a_delivered_whatsapp_receipt_cancels_the_fallback(client: Client, mc: FakeMessageCentral) -> None:
    await patch_settings(client, whatsapp_fallback_seconds=1)
    body = await start_whatsapp(client, mc)
    receipt = mc.dlr_body(str(mc.messages[-1]["message_id"]), "DELIVERED")
    assert (await client.post(HOOK, content=receipt, headers=JSON)).status_code == 200
    await asyncio.sleep(1.8)  # past the deadline and several sweeps
    after = await status(client, body["id"])
    assert (after["channel"], after["fallback_reason"], after["delivery"]["status"]) == ("whatsapp", None, "delivered")
    assert (await check(client, mc.last_code)).json()["valid"] is True


async def test_a_fallback_sms_is_charged_to_the_budgets_and_a_spent_one_keeps_the_whatsapp_code(
    client: Client, mc: FakeMessageCentral, vendors: Vendors
) -> None:
    await patch_settings(client, sms_budget={"per_hour": 1, "per_day": 100})  # the WhatsApp send takes it
    body = await start_whatsapp(client, mc)
    receipt = mc.dlr_body(str(mc.messages[-1]["message_id"]), "UNDELIV")
    assert (await client.post(HOOK, content=receipt, headers=JSON)).status_code == 200

    after = await status(client, body["id"])
    assert (after["channel"], after["channels"]) == ("whatsapp", ["whatsapp"])  # tried, not carried
    assert vendors.gatum.messages == []  # no SMS beyond the budget
    assert (await check(client, mc.last_code)).json()["valid"] is True  # the WhatsApp code stays live


def _code_in(text: str) -> str:
    digits = [word.strip(".") for word in text.split() if word.strip(".").isdigit()]
    assert digits, text
    return digits[0]
