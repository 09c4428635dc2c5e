"""A vendor that took the send but answered something we cannot read, end to end on real Redis.

Message Central VerifyNow is the exception at the start: without a ``verificationId`` its code
could never be checked, so the chain falls over with our own code. At check time such a reply is a
503 that costs no attempt, like any vendor failure there.

Such a reply (nested past the decoder's recursion limit, not UTF-8, or larger than the 64 KiB cap) came
after the request left, so the message may be on the phone: the send is a 201 with
``delivery: unknown``, the code is stored and checkable, the quota and the cooldown are charged (a
retry must not put a second SMS on the same phone), and the vendor's breaker counts the failure. No
other provider gets a second code.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from otp_service.domain.breaker import Breaker
from tests.api.helpers import NUMBER, Client, assert_problem, check, patch_settings, send, wrong
from tests.conftest import CLIENT, Vendors
from tests.fakes.message_central import SEND_PATH

NESTED = b'{"nested": ' + b'{"x": ' * 3000 + b"1" + b"}" * 3000 + b"}"


async def fifty_megabytes() -> AsyncIterator[bytes]:
    yield b'{"status": true, "data": [{"sending": {"details": {"sentID": "'
    for _ in range(50 * 16):
        yield b"7" * 65536


REPLIES: dict[str, Callable[[], object]] = {
    "nested_3000_deep": lambda: NESTED,
    "invalid_utf8": lambda: b'{"status": true, "data": [{"sending": {"details": {"sentID": "\xff\xfe"}}}]}',
    "50_mb": fifty_megabytes,
}


def gatum_sends(vendors: Vendors) -> int:
    return sum(1 for r in vendors.gatum.requests if r.url.path.rstrip("/").endswith("/v1/send"))


@pytest.mark.parametrize("reply", REPLIES.values(), ids=REPLIES.keys())
async def test_a_send_whose_reply_cannot_be_read_is_201_unknown_stored_checkable_and_charged(
    client: Client, vendors: Vendors, reply: Callable[[], bytes]
) -> None:
    await patch_settings(client, providers=["gatum", "wavy"], send_limit={"count": 1, "window_seconds": 600})
    breaker: Breaker = client.app.state.otp_service.dispatcher.breakers["gatum"]
    breaker.threshold = 1  # one failure that counts opens it
    vendors.gatum.garbled_reply = reply

    response = await send(client)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["provider"] == "gatum"
    assert body["delivery"]["status"] == "unknown"
    assert vendors.wavy.requests == []  # no second code through another provider
    assert breaker.state == "open"

    status = await client.get(f"/v1/verifications/{body['id']}", headers=CLIENT)
    assert status.json()["status"] == "pending"
    assert status.json()["delivery"]["status"] == "unknown"

    assert_problem(await send(client), 429, "rate_limited")  # the quota of one send is used
    assert gatum_sends(vendors) == 1
    approved = await check(client, vendors.last_code("gatum"))
    assert approved.json() == {"id": body["id"], "to": NUMBER, "status": "approved", "valid": True}


@pytest.mark.parametrize("reply", REPLIES.values(), ids=REPLIES.keys())
async def test_eight_sends_in_a_row_answered_badly_reach_the_phone_once(
    client: Client, vendors: Vendors, reply: Callable[[], bytes]
) -> None:
    """Under the default limits the cooldown holds: the first send may have delivered, so it counts."""
    await patch_settings(client, providers=["gatum"])
    vendors.gatum.garbled_reply = reply
    answers = [(await send(client)).status_code for _ in range(8)]
    assert answers == [201] + [429] * 7
    assert gatum_sends(vendors) == 1
    assert len(vendors.gatum.messages) == 1


def nested(request: httpx.Request | None = None) -> httpx.Response:
    return httpx.Response(200, content=NESTED, headers={"Content-Type": "application/json"})


async def test_a_verify_now_start_answered_unreadably_falls_over_with_our_own_code(
    client: Client, vendors: Vendors
) -> None:
    await patch_settings(client, providers=["message_central", "gatum"])
    vendors.message_central.next_response = nested()
    response = await send(client)
    assert response.status_code == 201, response.text
    assert response.json()["provider"] == "gatum"
    assert response.json()["delivery"]["status"] == "queued"
    assert len(vendors.message_central.calls(SEND_PATH)) == 1
    assert (await check(client, vendors.last_code("gatum"))).json()["valid"] is True


async def test_a_verify_now_check_answered_unreadably_is_503_and_costs_no_attempt(
    client: Client, vendors: Vendors
) -> None:
    await patch_settings(client, providers=["message_central"])
    mc = vendors.message_central
    vid = (await send(client)).json()["id"]
    mc.next_response = nested()
    response = await check(client, mc.last_code)
    problem = assert_problem(response, 503, "provider_unavailable")
    assert problem["tried"] == [{"provider": "message_central", "reason": "bad_response"}]
    assert (await client.get(f"/v1/verifications/{vid}", headers=CLIENT)).json()["attempts_left"] == 5
    assert (await check(client, wrong(mc.last_code))).json()["attempts_left"] == 4  # the bad reply cost nothing
    assert (await check(client, mc.last_code)).json()["valid"] is True
