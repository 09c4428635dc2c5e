"""End users behind an app's backend: ``end_user_ip`` / ``end_user_id`` and what the per-IP limit counts."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Request

from otp_service.api.deps import client_ip
from tests.api.helpers import Client, assert_problem, check, patch_settings, send
from tests.conftest import MOBILE


def _number(i: int) -> str:
    """A number in a range of its own (``+346ii i00 100``): the conversion guard counts per range."""
    return f"+346{i:03d}00100"


async def test_a_thousand_end_users_behind_one_backend_key_get_no_429_under_default_settings(client: Client) -> None:
    """Default limits: 30 sends per IP per 10 min, 1000 per app per 60 s: 1,000 logins from 1,000 users fit.

    Real users' numbers spread over the numbering plan: a thousand never-checked codes to one number
    range is what the conversion guard holds (``test_pumping.py``)."""
    for i in range(1000):
        response = await send(client, _number(i), end_user_ip=f"198.51.{i // 256}.{i % 256}", end_user_id=f"u{i}")
        assert response.status_code == 201, (i, response.text)


async def test_the_31st_send_from_one_end_user_ip_is_429_under_default_settings(client: Client) -> None:
    for i in range(30):
        assert (await send(client, _number(i), end_user_ip="203.0.113.7")).status_code == 201
    assert_problem(await send(client, _number(30), end_user_ip="203.0.113.7"), 429, "rate_limited")
    assert (await send(client, _number(31), end_user_ip="203.0.113.8")).status_code == 201


async def test_a_backend_key_without_end_user_ip_is_not_limited_per_ip(client: Client) -> None:
    await patch_settings(client, ip_limit={"count": 1, "window_seconds": 600})
    for i in range(3):
        assert (await send(client, _number(i))).status_code == 201


async def test_a_public_key_without_end_user_ip_is_limited_by_the_callers_address(client: Client) -> None:
    await patch_settings(client, ip_limit={"count": 1, "window_seconds": 600})
    assert (await send(client, _number(0), headers=MOBILE)).status_code == 201
    assert_problem(await send(client, _number(1), headers=MOBILE), 429, "rate_limited")


async def test_ipv6_end_users_are_counted_per_64_prefix(client: Client) -> None:
    await patch_settings(client, ip_limit={"count": 1, "window_seconds": 600})
    assert (await send(client, _number(0), end_user_ip="2001:db8:1:2::1")).status_code == 201
    assert_problem(await send(client, _number(1), end_user_ip="2001:db8:1:2:ffff::9"), 429, "rate_limited")
    assert (await send(client, _number(2), end_user_ip="2001:db8:1:3::1")).status_code == 201


async def test_an_ipv4_written_as_ipv6_is_the_same_end_user(client: Client) -> None:
    await patch_settings(client, ip_limit={"count": 1, "window_seconds": 600})
    assert (await send(client, _number(0), end_user_ip="203.0.113.7")).status_code == 201
    assert_problem(await send(client, _number(1), end_user_ip="::ffff:203.0.113.7"), 429, "rate_limited")


@pytest.mark.parametrize("value", ["not-an-ip", "300.1.2.3", "203.0.113.0/24", "fe80::1%eth0", "", 7])
async def test_a_bad_end_user_ip_is_400_on_send_and_check(client: Client, value: Any) -> None:
    assert_problem(await send(client, _number(0), end_user_ip=value), 400, "validation_error")
    body = {"to": _number(0), "code": "123456", "end_user_ip": value}
    assert_problem(await client.post("/v1/verifications/check", json=body, headers=MOBILE), 400, "validation_error")


async def test_end_user_id_is_at_most_128_characters(client: Client) -> None:
    assert (await send(client, _number(0), end_user_id="u" * 128)).status_code == 201
    assert_problem(await send(client, _number(1), end_user_id="u" * 129), 400, "validation_error")


@pytest.mark.parametrize("value", ["u1\n", "u1\r\nforged log line", "tab\there", "two words", "-u1"])
async def test_end_user_id_is_one_token_without_spaces_or_control_characters(client: Client, value: str) -> None:
    assert_problem(await send(client, _number(0), end_user_id=value), 400, "validation_error")


@pytest.mark.parametrize("value", ["user@example.com", "0f8fad5b-d9cb-469f-a165-70867728950e", "b64+/=", "tenant:42"])
async def test_end_user_id_takes_the_usual_kinds_of_id(client: Client, value: str) -> None:
    assert (await send(client, _number(0), end_user_id=value)).status_code == 201


async def test_check_accepts_the_end_user_context(client: Client) -> None:
    assert (await send(client, _number(0), end_user_ip="203.0.113.7", end_user_id="u1")).status_code == 201
    body = {"to": _number(0), "code": "000000", "end_user_ip": "2001:db8::1", "end_user_id": "u1"}
    response = await client.post("/v1/verifications/check", json=body, headers=MOBILE)
    assert response.status_code in (200, 404)  # judged (or another app's): never a validation error
    assert (await check(client, "000000", to=_number(0))).status_code == 200


def _request(*forwarded: str, peer: str = "10.0.0.9") -> Request[Any, Any, Any]:
    headers = [(b"x-forwarded-for", line.encode()) for line in forwarded]
    scope: Any = {"type": "http", "method": "GET", "path": "/", "headers": headers, "client": (peer, 5000)}
    return Request(scope)


def test_x_forwarded_for_lines_are_joined_in_order_before_counting_trusted_hops() -> None:
    """A client-sent first line must not hide the line our proxy appended (RFC 9110 5.3)."""
    request = _request("6.6.6.6", "198.51.100.4")
    assert client_ip(request, trusted_hops=1) == "198.51.100.4"
    assert client_ip(request, trusted_hops=2) == "6.6.6.6"
    assert client_ip(_request("1.1.1.1, 6.6.6.6", "198.51.100.4"), trusted_hops=1) == "198.51.100.4"


def test_x_forwarded_for_is_ignored_without_trusted_hops() -> None:
    assert client_ip(_request("6.6.6.6"), trusted_hops=0) == "10.0.0.9"
