"""GET/PATCH /v1/admin/settings and GET /v1/admin/audit (API.md)."""

from __future__ import annotations

import asyncio
import time

import pytest
from litestar.testing import AsyncTestClient

from tests.api.helpers import Client, assert_problem, patch_settings, send
from tests.conftest import ADMIN, Vendors, build_app

DEFAULTS = {
    "code_length": 6,
    "ttl_seconds": 600,
    "max_attempts": 5,
    "resend_cooldown_seconds": 30,
    "send_limit": {"count": 5, "window_seconds": 600},
    "check_limit": {"count": 10, "window_seconds": 3600},
    "source_check_limit": {"count": 5, "window_seconds": 86400},
    "client_limit": {"count": 1000, "window_seconds": 60},
    "ip_limit": {"count": 30, "window_seconds": 600},
    "allowed_countries": None,
    "brand": "Acme",
    "test_numbers": {},
}


async def test_a_fresh_deployment_has_the_contract_defaults(client: Client) -> None:
    body = (await client.get("/v1/admin/settings", headers=ADMIN)).json()
    for key, value in DEFAULTS.items():
        assert body[key] == value, key
    assert body["providers"] == ["gatum"]  # OTP_PROVIDERS
    assert set(body["templates"]) >= {"en", "es"}
    assert "{code}" in body["templates"]["en"]


async def test_patch_changes_only_the_given_fields(client: Client) -> None:
    body = await patch_settings(client, max_attempts=3, brand="Globex")
    assert body["max_attempts"] == 3
    assert body["brand"] == "Globex"
    assert body["ttl_seconds"] == 600
    again = (await client.get("/v1/admin/settings", headers=ADMIN)).json()
    assert again["max_attempts"] == 3 and again["brand"] == "Globex"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("code_length", 3),
        ("code_length", 11),
        ("ttl_seconds", 29),
        ("ttl_seconds", 86401),
        ("max_attempts", 0),
        ("max_attempts", 21),
        ("resend_cooldown_seconds", -1),
        ("resend_cooldown_seconds", 3601),
        ("send_limit", {"count": 0, "window_seconds": 60}),
        ("send_limit", {"count": 5}),
        ("allowed_countries", ["ESP"]),
        ("allowed_countries", ["XX"]),
        ("providers", []),
        ("providers", ["nobody"]),
        ("providers", ["gatum", "gatum"]),
        ("providers", ["console"]),
        ("templates", {"es": "Tu código es {code}"}),
        ("templates", {"en": "no placeholder"}),
        ("templates", {"en": "{code} {secret}"}),
        ("templates", {"en": "{code.__class__}"}),
        ("brand", ""),
        ("test_numbers", {"not a number": "123456"}),
        ("test_numbers", {"+15005550006": "12ab"}),
        ("unknown_field", 1),
    ],
)
async def test_out_of_range_values_are_400_and_change_nothing(client: Client, field: str, value: object) -> None:
    before = (await client.get("/v1/admin/settings", headers=ADMIN)).json()
    response = await client.patch("/v1/admin/settings", json={"max_attempts": 7, field: value}, headers=ADMIN)
    assert_problem(response, 400, "validation_error")
    after = (await client.get("/v1/admin/settings", headers=ADMIN)).json()
    assert after == before  # all or nothing: max_attempts=7 was not applied either
    assert (await client.get("/v1/admin/audit", headers=ADMIN)).json() == []


async def test_nist_warnings_accompany_weak_but_allowed_values(client: Client) -> None:
    body = await patch_settings(client, ttl_seconds=900, code_length=4)
    assert body["ttl_seconds"] == 900
    assert len(body["warnings"]) == 2
    assert all("NIST SP 800-63B" in w for w in body["warnings"])
    fine = await patch_settings(client, ttl_seconds=600, code_length=6)
    assert fine["warnings"] == []


async def test_every_change_is_audited_newest_first(client: Client) -> None:
    await patch_settings(client, max_attempts=3)
    await patch_settings(client, max_attempts=4, brand="Globex")
    entries = (await client.get("/v1/admin/audit", headers=ADMIN)).json()
    assert [(e["field"], e["old"], e["new"]) for e in entries] == [
        ("brand", "Acme", "Globex"),
        ("max_attempts", 3, 4),
        ("max_attempts", 5, 3),
    ] or [(e["field"], e["old"], e["new"]) for e in entries] == [
        ("max_attempts", 3, 4),
        ("brand", "Acme", "Globex"),
        ("max_attempts", 5, 3),
    ]
    assert all(e["admin"] == "admin" and e["time"].endswith("Z") for e in entries)
    limited = (await client.get("/v1/admin/audit?limit=1", headers=ADMIN)).json()
    assert len(limited) == 1


async def test_a_patch_that_changes_nothing_is_not_audited(client: Client) -> None:
    await patch_settings(client, max_attempts=5)
    assert (await client.get("/v1/admin/audit", headers=ADMIN)).json() == []


async def test_new_settings_reach_every_replica_within_one_second(client: Client, settings, vendors: Vendors) -> None:  # type: ignore[no-untyped-def]
    async with AsyncTestClient(build_app(settings, Vendors())) as other_replica:
        assert (await send(other_replica, "+34600100210")).json()["code_length"] == 6
        changed_at = time.monotonic()
        await patch_settings(client, code_length=8)
        while True:
            response = await send(other_replica, f"+3460010{int(time.monotonic() * 1000) % 10000:04d}")
            if response.status_code == 201 and response.json()["code_length"] == 8:
                break
            assert time.monotonic() - changed_at < 1.0, "the other replica still uses the old code length"
            await asyncio.sleep(0.05)


async def test_concurrent_patches_lose_no_change(client: Client) -> None:
    await asyncio.gather(
        patch_settings(client, max_attempts=9),
        patch_settings(client, brand="Initech"),
        patch_settings(client, ttl_seconds=300),
    )
    body = (await client.get("/v1/admin/settings", headers=ADMIN)).json()
    assert (body["max_attempts"], body["brand"], body["ttl_seconds"]) == (9, "Initech", 300)
    assert len((await client.get("/v1/admin/audit", headers=ADMIN)).json()) == 3


async def test_test_numbers_get_a_fixed_code_and_nothing_is_sent_when_enabled(
    redis_server, redis, vendors: Vendors
) -> None:  # type: ignore[no-untyped-def]
    from tests.api.helpers import check
    from tests.conftest import make_settings

    settings = make_settings(OTP_REDIS_URL=redis_server.url, OTP_TEST_NUMBERS="enabled")
    async with AsyncTestClient(build_app(settings, vendors)) as client:
        await patch_settings(client, test_numbers={"+1 202 555 0143": "424242"})
        body = (await send(client, "+12025550143")).json()
        assert body["provider"] == "test"
        assert vendors.gatum.messages == []
        assert (await check(client, "424242", to="+12025550143")).json()["status"] == "approved"
