"""POST /v1/verifications: start, resend, limits, validation (API.md)."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.api.helpers import NUMBER, Client, assert_problem, check, patch_settings, send, wrong
from tests.conftest import CLIENT, MOBILE, Vendors


def _time(value: str) -> dt.datetime:
    assert value.endswith("Z")
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


async def test_send_answers_201_with_the_contract_fields(client: Client, vendors: Vendors) -> None:
    response = await send(client, "+34 600-100 (200)")
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["id"].startswith("vf_")
    assert body["to"] == NUMBER
    assert body["channel"] == "sms"
    assert body["status"] == "pending"
    assert body["provider"] == "gatum"
    assert body["code_length"] == 6
    assert body["attempts_left"] == 5
    created, expires = _time(body["created_at"]), _time(body["expires_at"])
    assert (expires - created).total_seconds() == pytest.approx(600, abs=1)
    assert (_time(body["resend_available_at"]) - created).total_seconds() == pytest.approx(30, abs=1)
    assert body["delivery"]["status"] in {"queued", "sent"}
    assert vendors.gatum.messages[-1]["to"] in ("34600100200", ["34600100200"])


async def test_the_message_holds_a_six_digit_code_and_the_response_never_does(client: Client, vendors: Vendors) -> None:
    response = await send(client)
    code = vendors.last_code()
    assert len(code) == 6 and code.isdigit()
    assert code not in response.text
    status = await client.get(f"/v1/verifications/{response.json()['id']}", headers=CLIENT)
    assert code not in status.text
    assert "argon2" not in status.text and "code_hash" not in status.text


async def test_spanish_locale_uses_the_spanish_template(client: Client, vendors: Vendors) -> None:
    assert (await send(client, locale="es-MX")).status_code == 201
    assert vendors.last_text().startswith("Tu código de Acme es")


async def test_app_hash_ends_the_message(client: Client, vendors: Vendors) -> None:
    assert (await send(client, app_hash="FA+9qCX9VSu")).status_code == 201
    assert vendors.last_text().endswith("FA+9qCX9VSu")


async def test_resend_keeps_the_id_and_only_the_new_code_works(client: Client, vendors: Vendors) -> None:
    await patch_settings(client, resend_cooldown_seconds=0)
    first = (await send(client)).json()
    old_code = vendors.last_code()
    await check(client, wrong(old_code))
    second = (await send(client)).json()
    new_code = vendors.last_code()
    assert second["id"] == first["id"]
    assert second["attempts_left"] == 5  # attempts start again
    if new_code != old_code:
        stale = (await check(client, old_code)).json()
        assert stale["valid"] is False
    approved = await check(client, new_code)
    assert approved.json() == {"id": first["id"], "to": NUMBER, "status": "approved", "valid": True}


async def test_resend_within_the_cooldown_is_429_with_retry_after(client: Client) -> None:
    assert (await send(client)).status_code == 201
    response = await send(client)
    body = assert_problem(response, 429, "rate_limited")
    assert 1 <= int(response.headers["Retry-After"]) <= 30
    assert body["retry_after"] == int(response.headers["Retry-After"])


async def test_per_number_send_limit(client: Client) -> None:
    await patch_settings(client, resend_cooldown_seconds=0, send_limit={"count": 2, "window_seconds": 600})
    assert (await send(client)).status_code == 201
    assert (await send(client)).status_code == 201
    response = await send(client)
    assert_problem(response, 429, "rate_limited")
    assert int(response.headers["Retry-After"]) > 500
    assert (await send(client, "+34600100201")).status_code == 201  # another number is unaffected


async def test_per_client_send_limit_counts_each_api_key_apart(client: Client) -> None:
    await patch_settings(client, client_limit={"count": 2, "window_seconds": 60})
    assert (await send(client, "+34600100201")).status_code == 201
    assert (await send(client, "+34600100202")).status_code == 201
    assert_problem(await send(client, "+34600100203"), 429, "rate_limited")
    other = await client.post("/v1/verifications", json={"to": "+34600100203"}, headers=MOBILE)
    assert other.status_code == 201


async def test_per_ip_send_limit_counts_the_end_user_ip(client: Client) -> None:
    await patch_settings(client, ip_limit={"count": 1, "window_seconds": 600})
    assert (await send(client, "+34600100201", end_user_ip="203.0.113.7")).status_code == 201
    response = await send(client, "+34600100202", end_user_ip="203.0.113.7")
    assert_problem(response, 429, "rate_limited")
    assert int(response.headers["Retry-After"]) >= 1
    assert (await send(client, "+34600100203", end_user_ip="203.0.113.8")).status_code == 201


async def test_a_refused_send_consumes_no_other_quota(client: Client) -> None:
    """The per-IP refusal must give back the per-number and per-client reservations it took first."""
    await patch_settings(
        client, ip_limit={"count": 1, "window_seconds": 600}, client_limit={"count": 2, "window_seconds": 600}
    )
    assert (await send(client, "+34600100201", end_user_ip="203.0.113.7")).status_code == 201
    for _ in range(3):
        assert_problem(await send(client, "+34600100202", end_user_ip="203.0.113.7"), 429, "rate_limited")
    await patch_settings(client, ip_limit={"count": 30, "window_seconds": 600})
    assert (await send(client, "+34600100202", end_user_ip="203.0.113.7")).status_code == 201  # client quota left


async def test_allowed_countries_refuses_other_regions_with_403(client: Client) -> None:
    await patch_settings(client, allowed_countries=["ES"])
    assert (await send(client)).status_code == 201
    assert_problem(await send(client, "+5511987654321"), 403, "country_not_allowed")


@pytest.mark.parametrize("to", ["34600100200", "+34 600", "+999123456789", "+1 555 0100", "hello", "+"])
async def test_invalid_numbers_are_400_invalid_phone(client: Client, vendors: Vendors, to: str) -> None:
    assert_problem(await send(client, to), 400, "invalid_phone")
    assert vendors.gatum.messages == []


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"to": 34600100200},
        {"to": "+34600100200", "channel": "voice"},
        {"to": "+34600100200", "locale": "not a locale!"},
        {"to": "+34600100200", "app_hash": "short"},
        {"to": "+34600100200", "extra": True},
        {"to": "+" + "1" * 60},
    ],
)
async def test_malformed_bodies_are_400_validation_error_and_send_nothing(
    client: Client, vendors: Vendors, body: dict[str, object]
) -> None:
    response = await client.post("/v1/verifications", json=body, headers=CLIENT)
    problem = assert_problem(response, 400, "validation_error")
    assert isinstance(problem["errors"], list) and problem["errors"]
    assert vendors.gatum.messages == []


async def test_invalid_json_is_400(client: Client) -> None:
    response = await client.post(
        "/v1/verifications", content=b"{not json", headers={**CLIENT, "Content-Type": "application/json"}
    )
    assert_problem(response, 400, "validation_error")


async def test_idempotency_key_replays_the_first_response_and_sends_nothing_new(
    client: Client, vendors: Vendors
) -> None:
    headers = {"Idempotency-Key": "login-123"}
    first = await send(client, headers=headers)
    again = await send(client, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert len(vendors.gatum.messages) == 1


async def test_idempotency_key_reused_with_another_body_is_409(client: Client) -> None:
    headers = {"Idempotency-Key": "login-124"}
    assert (await send(client, headers=headers)).status_code == 201
    assert_problem(await send(client, headers=headers, locale="es"), 409, "conflict")


async def test_test_numbers_are_ignored_in_production_without_opt_in(client: Client, vendors: Vendors) -> None:
    await patch_settings(client, test_numbers={"+15005550006": "123456"})
    response = await send(client, "+1 500 555 0006")
    if response.status_code == 201:  # the number is valid: it must have been really sent
        assert vendors.gatum.messages
        assert response.json()["provider"] == "gatum"
    elif response.status_code == 403:  # a US personal number: refused like any other real one of its type
        assert_problem(response, 403, "number_not_allowed")
        assert not vendors.gatum.messages
    else:
        assert_problem(response, 400, "invalid_phone")
