"""Message Central receipts the vendor documents: spelled-out states, and sends without a transactionId.

The v1 VerifyNow example answers ``"transactionId": null``
(https://www.messagecentral.com/product/verify-now/api), so the receipt's ``messageId`` then names
nothing we indexed; its ``mobile`` still matches the newest Message Central send to that number.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.api.helpers import NUMBER, Client, patch_settings, send
from tests.conftest import CLIENT, WEBHOOK_SECRET, Vendors
from tests.fakes.message_central import FakeMessageCentral

JSON = {"Content-Type": "application/json"}
HOOK = f"/v1/webhooks/message_central/{WEBHOOK_SECRET}"


@pytest.fixture
async def mc(client: Client, vendors: Vendors) -> FakeMessageCentral:
    await patch_settings(client, providers=["message_central"])
    return vendors.message_central


async def delivery(client: Client, vid: str) -> dict[str, Any]:
    body: dict[str, Any] = (await client.get(f"/v1/verifications/{vid}", headers=CLIENT)).json()["delivery"]
    return body


@pytest.mark.parametrize(("state", "expected"), [("DELIVERED", "delivered"), ("REJECTED", "failed")])
async def test_spelled_out_states_are_not_unknown(
    client: Client, mc: FakeMessageCentral, state: str, expected: str
) -> None:
    vid = (await send(client)).json()["id"]
    receipt = mc.dlr_body(str(mc.messages[-1]["message_id"]), state)
    assert (await client.post(HOOK, content=receipt, headers=JSON)).status_code == 200
    assert (await delivery(client, vid))["status"] == expected


async def test_a_receipt_for_a_send_without_transaction_id_is_matched_by_the_number(
    client: Client, mc: FakeMessageCentral
) -> None:
    mc.null_transaction_id = True
    vid = (await send(client)).json()["id"]
    receipt = mc.dlr_body(str(uuid.uuid4()), "DELIVRD", mobile=NUMBER.removeprefix("+"))
    assert (await client.post(HOOK, content=receipt, headers=JSON)).status_code == 200
    assert (await delivery(client, vid))["status"] == "delivered"


async def test_a_receipt_naming_another_number_matches_nothing(client: Client, mc: FakeMessageCentral) -> None:
    mc.null_transaction_id = True
    vid = (await send(client)).json()["id"]
    receipt = mc.dlr_body(str(uuid.uuid4()), "DELIVRD", mobile="34600999999")
    assert (await client.post(HOOK, content=receipt, headers=JSON)).status_code == 200
    assert (await delivery(client, vid))["status"] == "queued"
