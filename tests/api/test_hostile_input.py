"""Input an attacker or a careless client can send: each answers a clear 4xx problem and changes nothing.

Deeply nested JSON, values with a trailing newline, admin numbers written as strings or floats,
phone numbers spelt with letters and oversized headers were all seen to give a 500 or to be taken
as something else (issue 10, "Input").
"""

from __future__ import annotations

from typing import Any

import pytest
from redis.asyncio import Redis

from tests.api.helpers import NUMBER, Client, all_keys, assert_problem, check, patch_settings, send
from tests.conftest import ADMIN, CLIENT, WEBHOOK_SECRET, Vendors

JSON = {"Content-Type": "application/json"}
DEEP = b"[" * 1000 + b"]" * 1000  # 2 KB: well inside every body limit


async def stored(redis: Redis) -> list[bytes]:
    """Every key a request left behind, the live settings apart."""
    return [k for k in await all_keys(redis, "otp:*") if b"{settings}" not in k]


async def settings_now(client: Client) -> dict[str, Any]:
    response = await client.get("/v1/admin/settings", headers=ADMIN)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.mark.parametrize(
    ("method", "path", "headers"),
    [
        ("POST", "/v1/verifications", CLIENT),
        ("POST", "/v1/verifications/check", CLIENT),
        ("PATCH", "/v1/admin/settings", ADMIN),
    ],
    ids=["send", "check", "admin-patch"],
)
async def test_json_nested_a_thousand_levels_is_a_validation_error_and_changes_nothing(
    client: Client, redis: Redis, method: str, path: str, headers: dict[str, str]
) -> None:
    before = await settings_now(client)
    for body in (DEEP, b'{"to":' + DEEP + b',"code":' + DEEP + b"}"):
        response = await client.request(method, path, content=body, headers={**headers, **JSON})
        assert_problem(response, 400, "validation_error")
    assert await settings_now(client) == before
    assert await stored(redis) == []


@pytest.mark.parametrize("provider", ["message_central", "gatum", "wavy", "instasent", "conectaline"])
async def test_a_receipt_nested_a_thousand_levels_is_a_validation_error(client: Client, provider: str) -> None:
    # Each parser meets the nesting somewhere else: a bare array, a field, a field of a list item.
    for body in (DEEP, b'{"x":' + DEEP + b"}", b'[{"x":' + DEEP + b"}]"):
        response = await client.post(f"/v1/webhooks/{provider}/{WEBHOOK_SECRET}", content=body, headers=JSON)
        assert_problem(response, 400, "validation_error")


async def test_a_code_with_a_trailing_newline_is_refused_without_costing_an_attempt(
    client: Client, vendors: Vendors
) -> None:
    await patch_settings(client, max_attempts=1)
    assert (await send(client)).status_code == 201
    assert_problem(await check(client, vendors.last_code() + "\n"), 400, "validation_error")
    ok = await check(client, vendors.last_code())
    assert ok.status_code == 200, ok.text
    assert ok.json()["status"] == "approved"


@pytest.mark.parametrize(
    "changes",
    [
        {"test_numbers": {"+34600100999": "123456\n"}},
        {"templates": {"en": "Code {code}", "es\n": "Código {code}"}},
        {"allowed_countries": ["ES\n"]},
        {"providers": ["gatum\n"]},
    ],
    ids=["test-number-code", "locale-key", "country", "provider"],
)
async def test_admin_values_with_a_trailing_newline_are_refused(client: Client, changes: dict[str, Any]) -> None:
    before = await settings_now(client)
    response = await client.patch("/v1/admin/settings", json=changes, headers=ADMIN)
    assert_problem(response, 400, "validation_error")
    assert await settings_now(client) == before


@pytest.mark.parametrize("extra", [{"locale": "es\n"}, {"app_hash": "FA+9qCX9VSu\n"}], ids=["locale", "app_hash"])
async def test_send_fields_with_a_trailing_newline_are_refused(client: Client, redis: Redis, extra: Any) -> None:
    assert_problem(await send(client, **extra), 400, "validation_error")
    assert await stored(redis) == []


@pytest.mark.parametrize(
    "changes",
    [
        {"code_length": "8"},
        {"code_length": 6.0},
        {"ttl_seconds": "86400.0"},
        {"max_attempts": True},
        {"send_limit": {"count": "3", "window_seconds": 60}},
    ],
    ids=["string-int", "float-int", "string-float", "bool", "nested-string"],
)
@pytest.mark.parametrize("method", ["patch", "put"])
async def test_admin_numbers_must_be_json_integers(client: Client, changes: dict[str, Any], method: str) -> None:
    before = await settings_now(client)
    response = await client.request(method.upper(), "/v1/admin/settings", json=changes, headers=ADMIN)
    body = assert_problem(response, 400, "validation_error")
    assert body["errors"] and body["errors"][0]["field"].split(".")[0] == next(iter(changes))
    assert await settings_now(client) == before


async def test_admin_patch_with_integers_still_applies(client: Client) -> None:
    changed = await patch_settings(client, code_length=8, send_limit={"count": 3, "window_seconds": 60})
    assert changed["code_length"] == 8
    assert changed["send_limit"] == {"count": 3, "window_seconds": 60}


@pytest.mark.parametrize("to", ["+34 6OO 1OO 24O", "+34 600 100 2OO", "+1 800 FLOWERS", "+34600100200x"])
async def test_letters_in_a_number_are_refused(client: Client, redis: Redis, to: str) -> None:
    assert_problem(await send(client, to), 400, "invalid_phone")
    assert await stored(redis) == []


async def test_request_headers_above_16_kib_in_all_answer_431(client: Client, redis: Redis) -> None:
    many = {f"x-pad-{i}": "a" * 1000 for i in range(17)}
    response = await client.post("/v1/verifications", json={"to": NUMBER}, headers={**CLIENT, **many})
    assert_problem(response, 431, "validation_error")
    one = {"x-pad": "a" * (16 * 1024 + 1)}
    assert_problem(await client.get("/health/live", headers=one), 431, "validation_error")
    assert await stored(redis) == []


async def test_request_headers_under_16_kib_pass(client: Client) -> None:
    headers = {**CLIENT, "x-pad": "a" * (15 * 1024)}
    response = await client.post("/v1/verifications", json={"to": NUMBER}, headers=headers)
    assert response.status_code == 201, response.text
