"""Authentication: API keys, admin token, 401/403/404 (API.md)."""

from __future__ import annotations

import pytest
from litestar.testing import AsyncTestClient

from tests.api.helpers import Client, assert_problem
from tests.conftest import ADMIN, API_KEY, CLIENT, Vendors, build_app, make_settings


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": f"Basic {API_KEY}"},
        {"Authorization": f"Bearer {API_KEY}x"},
        {"Authorization": f"Bearer {API_KEY[:-1]}"},
        {"Authorization": "Bearer "},
        {"Authorization": f"Bearer {ADMIN['Authorization'].split()[1]}"},
    ],
)
async def test_client_routes_need_a_valid_api_key(client: Client, headers: dict[str, str]) -> None:
    response = await client.post("/v1/verifications", json={"to": "+34600100200"}, headers=headers)
    assert_problem(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


async def test_auth_is_checked_before_the_body(client: Client) -> None:
    response = await client.post("/v1/verifications/check", json={"nonsense": 1})
    assert_problem(response, 401, "unauthorized")


async def test_a_client_key_on_an_admin_route_is_403(client: Client) -> None:
    assert_problem(await client.get("/v1/admin/settings", headers=CLIENT), 403, "forbidden")
    assert_problem(await client.get("/v1/admin/audit", headers=CLIENT), 403, "forbidden")


async def test_admin_routes_need_the_admin_token(client: Client) -> None:
    assert_problem(await client.get("/v1/admin/settings"), 401, "unauthorized")
    assert_problem(await client.get("/v1/admin/settings", headers={"Authorization": "Bearer x"}), 401, "unauthorized")
    assert (await client.get("/v1/admin/settings", headers=ADMIN)).status_code == 200


async def test_admin_routes_are_404_when_no_admin_token_is_configured(redis_server, vendors: Vendors) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings(OTP_REDIS_URL=redis_server.url, OTP_ADMIN_TOKEN="")
    async with AsyncTestClient(build_app(settings, vendors)) as client:
        assert_problem(await client.get("/v1/admin/settings", headers=ADMIN), 404, "not_found")
        assert_problem(await client.patch("/v1/admin/settings", json={}, headers=ADMIN), 404, "not_found")
