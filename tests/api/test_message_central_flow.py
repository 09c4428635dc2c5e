"""Verifications started through Message Central VerifyNow are checked through Message Central.

The vendor makes the code and judges it (``validateOtp`` with the stored ``verificationId``); our own
rules still wrap it: attempts are counted on our side, a used or dead verification is 404 without
asking the vendor, and a vendor that cannot answer costs the user no attempt (docs/api.md).
"""

from __future__ import annotations

import httpx
import pytest

from tests.api.helpers import NUMBER, Client, assert_problem, check, patch_settings, send, wrong
from tests.conftest import CLIENT, Vendors
from tests.fakes.message_central import SEND_PATH, VALIDATE_PATH, FakeMessageCentral


@pytest.fixture
async def mc(client: Client, vendors: Vendors) -> FakeMessageCentral:
    await patch_settings(client, providers=["message_central", "gatum"])
    return vendors.message_central


async def start(client: Client, mc: FakeMessageCentral) -> dict[str, object]:
    response = await send(client)
    assert response.status_code == 201, response.text
    body: dict[str, object] = response.json()
    assert body["provider"] == "message_central"
    assert len(mc.calls(SEND_PATH)) >= 1
    return body


def validations(mc: FakeMessageCentral) -> list[httpx.Request]:
    return mc.calls(VALIDATE_PATH)


async def attempts_left(client: Client, vid: object) -> int:
    body = (await client.get(f"/v1/verifications/{vid}", headers=CLIENT)).json()
    left: int = body["attempts_left"]
    return left


async def test_the_right_code_is_approved_by_message_central_with_the_stored_verification_id(
    client: Client, mc: FakeMessageCentral
) -> None:
    body = await start(client, mc)
    verification_id = mc.last_verification_id
    response = await check(client, mc.last_code)
    assert response.status_code == 200
    assert response.json() == {"id": body["id"], "to": NUMBER, "status": "approved", "valid": True}
    (validate,) = validations(mc)
    assert validate.url.params["verificationId"] == verification_id
    assert validate.url.params["code"] == mc.last_code
    assert (validate.url.params["countryCode"], validate.url.params["mobileNumber"]) == ("34", "600100200")


async def test_check_by_id_goes_to_message_central_too(client: Client, mc: FakeMessageCentral) -> None:
    body = await start(client, mc)
    response = await check(client, mc.last_code, id=str(body["id"]))
    assert response.json()["valid"] is True
    assert len(validations(mc)) == 1


async def test_a_wrong_code_is_message_centrals_702_and_costs_one_of_our_attempts(
    client: Client, mc: FakeMessageCentral
) -> None:
    body = await start(client, mc)
    code = mc.last_code
    first = await check(client, wrong(code))
    assert first.status_code == 200
    assert first.json() == {"id": body["id"], "to": NUMBER, "status": "pending", "valid": False, "attempts_left": 4}
    assert mc.verifications[mc.last_verification_id].wrong == 1  # MC answered 702
    assert (await check(client, wrong(code))).json()["attempts_left"] == 3
    assert await attempts_left(client, body["id"]) == 3
    assert (await check(client, code)).json()["valid"] is True


@pytest.mark.parametrize(
    "how", ["connect_error", "connect_timeout", "read_timeout", "http_503", "http_500", "http_429"]
)
async def test_message_central_unreachable_at_check_time_is_503_and_costs_no_attempt(
    client: Client, mc: FakeMessageCentral, how: str
) -> None:
    body = await start(client, mc)
    code = mc.last_code
    if how.startswith("http_"):
        mc.fail_with_status = int(how.removeprefix("http_"))
    else:
        mc.raise_exc = {
            "connect_error": httpx.ConnectError,
            "connect_timeout": httpx.ConnectTimeout,
            "read_timeout": httpx.ReadTimeout,
        }[how]
    response = await check(client, code)
    problem = assert_problem(response, 503, "provider_unavailable")
    assert problem["tried"] == [{"provider": "message_central", "reason": "unavailable"}]
    assert code not in response.text
    assert await attempts_left(client, body["id"]) == 5
    mc.raise_exc, mc.fail_with_status = None, None
    assert (await check(client, wrong(code))).json()["attempts_left"] == 4  # the outage cost nothing
    assert (await check(client, code)).json()["valid"] is True


async def test_an_outage_at_check_time_does_not_spend_the_failed_check_budget(
    client: Client, mc: FakeMessageCentral
) -> None:
    await patch_settings(client, check_limit={"count": 1, "window_seconds": 3600})
    await start(client, mc)
    code = mc.last_code
    mc.raise_exc = httpx.ConnectError
    for _ in range(3):
        assert_problem(await check(client, code), 503, "provider_unavailable")
    mc.raise_exc = None
    assert (await check(client, code)).json()["valid"] is True


async def test_message_central_expired_705_is_404(client: Client, mc: FakeMessageCentral) -> None:
    body = await start(client, mc)
    mc.timeout_s = 0  # the vendor's window is over: validateOtp answers 705
    assert_problem(await check(client, mc.last_code), 404, "not_found")
    assert len(validations(mc)) == 1
    status = (await client.get(f"/v1/verifications/{body['id']}", headers=CLIENT)).json()
    assert status["status"] == "expired"
    assert_problem(await check(client, mc.last_code), 404, "not_found")
    assert len(validations(mc)) == 1  # dead on our side: the vendor is not asked again


async def test_message_central_800_on_validate_is_max_attempts_reached(client: Client, mc: FakeMessageCentral) -> None:
    mc.max_wrong_attempts = 1  # MC stops accepting attempts before our max_attempts (5) is used
    body = await start(client, mc)
    code = mc.last_code
    assert (await check(client, wrong(code))).json()["attempts_left"] == 4
    locked = await check(client, code)  # MC answers 800 even for the right code now
    assert locked.status_code == 200
    assert locked.json() == {
        "id": body["id"],
        "to": NUMBER,
        "status": "max_attempts_reached",
        "valid": False,
        "attempts_left": 0,
    }
    assert_problem(await check(client, code), 404, "not_found")
    assert len(validations(mc)) == 2
    status = (await client.get(f"/v1/verifications/{body['id']}", headers=CLIENT)).json()
    assert status["status"] == "max_attempts_reached"


@pytest.mark.parametrize("code_length", [9, 10])
async def test_a_code_length_message_central_cannot_make_skips_it_and_keeps_the_admins_length(
    client: Client, mc: FakeMessageCentral, vendors: Vendors, code_length: int
) -> None:
    settings = await patch_settings(client, code_length=code_length)
    assert settings["code_length"] == code_length
    assert any("message_central" in w and "skipped" in w for w in settings["warnings"]), settings["warnings"]
    response = await send(client)
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["provider"], body["code_length"]) == ("gatum", code_length)  # never a different length
    assert mc.calls(SEND_PATH) == []
    code = vendors.last_code()
    assert len(code) == code_length
    assert (await check(client, code)).json()["valid"] is True


async def test_a_code_length_only_message_central_would_handle_is_a_503_naming_the_reason(
    client: Client, mc: FakeMessageCentral
) -> None:
    await patch_settings(client, providers=["message_central"], code_length=10)
    problem = assert_problem(await send(client), 503, "provider_unavailable")
    assert problem["tried"] == [{"provider": "message_central", "reason": "code_length_unsupported"}]
    assert mc.calls(SEND_PATH) == []


async def test_a_code_length_within_message_centrals_range_gives_no_warning(
    client: Client, mc: FakeMessageCentral
) -> None:
    settings = await patch_settings(client, code_length=8)
    assert not any("message_central" in warning for warning in settings["warnings"])
    body = await start(client, mc)
    assert body["code_length"] == 8
    assert mc.calls(SEND_PATH)[0].url.params["otpLength"] == "8"


async def test_a_code_of_the_wrong_length_costs_an_attempt_without_asking_message_central(
    client: Client, mc: FakeMessageCentral
) -> None:
    body = await start(client, mc)
    response = await check(client, mc.last_code[:-1])
    assert response.json() == {"id": body["id"], "to": NUMBER, "status": "pending", "valid": False, "attempts_left": 4}
    assert validations(mc) == []  # it cannot be right: the vendor is not asked
    assert await attempts_left(client, body["id"]) == 4


async def test_a_second_check_after_approval_is_404_without_calling_message_central(
    client: Client, mc: FakeMessageCentral
) -> None:
    await start(client, mc)
    code = mc.last_code
    assert (await check(client, code)).json()["valid"] is True
    assert_problem(await check(client, code), 404, "not_found")
    assert_problem(await check(client, wrong(code)), 404, "not_found")
    assert len(validations(mc)) == 1


async def test_our_max_attempts_caps_message_central_checks(client: Client, mc: FakeMessageCentral) -> None:
    await patch_settings(client, max_attempts=2)
    mc.max_wrong_attempts = 10
    body = await start(client, mc)
    code = mc.last_code
    assert (await check(client, wrong(code))).json()["attempts_left"] == 1
    last = (await check(client, wrong(code))).json()
    assert last == {
        "id": body["id"],
        "to": NUMBER,
        "status": "max_attempts_reached",
        "valid": False,
        "attempts_left": 0,
    }
    assert_problem(await check(client, code), 404, "not_found")  # dead, even for the right code
    assert len(validations(mc)) == 2


async def test_a_canceled_verification_is_not_checked_at_message_central(
    client: Client, mc: FakeMessageCentral
) -> None:
    body = await start(client, mc)
    assert (await client.post(f"/v1/verifications/{body['id']}/cancel", headers=CLIENT)).status_code == 200
    assert_problem(await check(client, mc.last_code), 404, "not_found")
    assert validations(mc) == []


async def test_the_check_goes_to_message_central_even_after_the_order_changed(
    client: Client, mc: FakeMessageCentral, vendors: Vendors
) -> None:
    """The record says who made the code; the current settings do not."""
    await start(client, mc)
    await patch_settings(client, providers=["gatum"])
    assert (await check(client, mc.last_code)).json()["valid"] is True
    assert len(validations(mc)) == 1
    assert vendors.gatum.requests == []


async def test_a_resend_through_message_central_checks_the_new_verification_id(
    client: Client, mc: FakeMessageCentral
) -> None:
    await patch_settings(client, resend_cooldown_seconds=0)
    first = await start(client, mc)
    old_id, old_code = mc.last_verification_id, mc.last_code
    mc.timeout_s = 0  # MC's own window closed, so it accepts a new start for the number (else 506)
    second = await start(client, mc)
    mc.timeout_s = 60
    assert second["id"] == first["id"]
    assert mc.last_verification_id != old_id
    response = await check(client, mc.last_code)
    assert response.json()["valid"] is True, (old_code, response.text)
    assert validations(mc)[-1].url.params["verificationId"] == mc.last_verification_id
