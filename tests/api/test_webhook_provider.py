"""The `webhook` provider end to end: the operator's endpoint gets the signed message, and its receipt counts."""

from __future__ import annotations

from tests.api.helpers import Client, check, patch_settings, send
from tests.conftest import CLIENT, WEBHOOK_SECRET, Vendors, code_in


async def test_a_code_sent_through_the_operators_webhook_verifies_and_its_receipt_applies(
    client: Client, vendors: Vendors
) -> None:
    await patch_settings(client, providers=["webhook"], ttl_seconds=300)
    response = await send(client)
    assert response.status_code == 201, response.text
    vid = response.json()["id"]
    assert response.json()["provider"] == "webhook"
    message = vendors.webhook.messages[-1]
    assert message["reference"] == vid and message["validity_s"] == 300 and message["channel"] == "sms"

    receipt = vendors.webhook.receipt_body(message["message_id"], "delivered")
    posted = await client.post(
        f"/v1/webhooks/webhook/{WEBHOOK_SECRET}", content=receipt, headers={"Content-Type": "application/json"}
    )
    assert posted.status_code == 200, posted.text
    assert posted.json()["applied"] == 1
    status = await client.get(f"/v1/verifications/{vid}", headers=CLIENT)
    assert status.json()["delivery"]["status"] == "delivered"

    checked = await check(client, code_in(message["text"]), id=vid)
    assert checked.status_code == 200 and checked.json()["status"] == "approved"
