"""Apps are isolated: a verification belongs to the app whose key made it.

``web`` and ``mobile`` are two apps (tests/conftest.py). App B must not learn or change anything of
app A's: every route answers it 404, exactly as for an id that never existed.
"""

from __future__ import annotations

from typing import Any

from tests.api.helpers import NUMBER, Client, assert_problem, patch_settings, send, wrong
from tests.conftest import CLIENT, MOBILE, Vendors


async def _check(client: Client, headers: dict[str, str], **body: Any) -> Any:
    return await client.post("/v1/verifications/check", json=body, headers=headers)


async def test_another_app_gets_404_on_status_cancel_and_check_and_changes_nothing(
    client: Client, vendors: Vendors
) -> None:
    created = (await send(client)).json()
    vid, code = created["id"], vendors.last_code()

    assert_problem(await client.get(f"/v1/verifications/{vid}", headers=MOBILE), 404, "not_found")
    assert_problem(await client.post(f"/v1/verifications/{vid}/cancel", headers=MOBILE), 404, "not_found")
    assert_problem(await _check(client, MOBILE, id=vid, code=wrong(code)), 404, "not_found")
    assert_problem(await _check(client, MOBILE, to=NUMBER, code=wrong(code)), 404, "not_found")
    assert_problem(await _check(client, MOBILE, id=vid, code=code), 404, "not_found")  # the right code too
    assert_problem(await _check(client, MOBILE, to=NUMBER, code=code), 404, "not_found")

    status = (await client.get(f"/v1/verifications/{vid}", headers=CLIENT)).json()
    assert status["status"] == "pending"
    assert status["attempts_left"] == created["attempts_left"]  # no attempt was spent
    approved = await _check(client, CLIENT, id=vid, code=code)
    assert approved.json()["status"] == "approved"


async def test_a_send_from_another_app_makes_its_own_verification_and_takes_nothing_over(
    client: Client, vendors: Vendors
) -> None:
    await patch_settings(client, resend_cooldown_seconds=0)
    mine = (await send(client)).json()
    my_code = vendors.last_code()
    theirs = (await send(client, headers=MOBILE)).json()
    their_code = vendors.last_code()
    assert theirs["id"] != mine["id"]
    assert theirs["attempts_left"] == mine["attempts_left"]

    if their_code != my_code:  # each app's code works only for its own verification
        assert (await _check(client, CLIENT, to=NUMBER, code=their_code)).json()["valid"] is False
    assert (await _check(client, MOBILE, to=NUMBER, code=their_code)).json()["status"] == "approved"
    assert (await _check(client, CLIENT, to=NUMBER, code=my_code)).json()["status"] == "approved"
    assert (await client.get(f"/v1/verifications/{mine['id']}", headers=CLIENT)).json()["status"] == "approved"


async def test_an_app_may_cancel_its_own_while_another_apps_stays_pending(client: Client) -> None:
    await patch_settings(client, resend_cooldown_seconds=0)
    mine = (await send(client)).json()
    theirs = (await send(client, headers=MOBILE)).json()
    canceled = await client.post(f"/v1/verifications/{theirs['id']}/cancel", headers=MOBILE)
    assert canceled.json()["status"] == "canceled"
    assert (await client.get(f"/v1/verifications/{mine['id']}", headers=CLIENT)).json()["status"] == "pending"


async def test_the_cooldown_of_a_number_holds_across_apps(client: Client) -> None:
    """It protects the phone's owner: many apps must not flood one number."""
    assert (await send(client)).status_code == 201
    assert_problem(await send(client, headers=MOBILE), 429, "rate_limited")


async def test_the_send_limit_of_a_number_holds_across_apps(client: Client) -> None:
    await patch_settings(client, resend_cooldown_seconds=0, send_limit={"count": 2, "window_seconds": 600})
    assert (await send(client)).status_code == 201
    assert (await send(client, headers=MOBILE)).status_code == 201
    assert_problem(await send(client), 429, "rate_limited")
    assert_problem(await send(client, headers=MOBILE), 429, "rate_limited")
