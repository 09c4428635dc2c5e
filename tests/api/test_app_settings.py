"""Per-app settings: GET/PATCH /v1/admin/apps/{app}/settings on top of the global ones, and the app list."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.helpers import Client, assert_problem, patch_settings, send
from tests.conftest import ADMIN, API_KEY, CLIENT, MOBILE, MOBILE_KEY


async def _patch(client: Client, app: str, **changes: Any) -> Any:
    return await client.patch(f"/v1/admin/apps/{app}/settings", json=changes, headers=ADMIN)


async def test_the_app_list_names_apps_and_keys_and_never_a_secret(client: Client) -> None:
    response = await client.get("/v1/admin/apps", headers=ADMIN)
    assert response.status_code == 200, response.text
    assert response.json() == [
        {"app": "mobile", "keys": [{"name": "mobile", "public": True}]},
        {"app": "web", "keys": [{"name": "web", "public": False}]},
    ]
    assert API_KEY not in response.text and MOBILE_KEY not in response.text


async def test_an_app_without_overrides_uses_the_global_settings(client: Client) -> None:
    global_settings = (await client.get("/v1/admin/settings", headers=ADMIN)).json()
    body = (await client.get("/v1/admin/apps/web/settings", headers=ADMIN)).json()
    assert body["app"] == "web"
    assert body["overridden"] == {}
    assert body["effective"] == {k: v for k, v in global_settings.items() if k != "warnings"}


async def test_an_override_applies_to_that_apps_verifications_only(client: Client) -> None:
    response = await _patch(client, "mobile", code_length=8, ttl_seconds=300)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["overridden"] == {"code_length": 8, "ttl_seconds": 300}
    assert body["effective"]["code_length"] == 8
    assert (await send(client, "+34600100201", headers=MOBILE)).json()["code_length"] == 8
    assert (await send(client, "+34600100202", headers=CLIENT)).json()["code_length"] == 6


async def test_null_removes_an_override_and_global_changes_reach_what_is_not_overridden(client: Client) -> None:
    await _patch(client, "mobile", code_length=8, ttl_seconds=300)
    body = (await _patch(client, "mobile", code_length=None)).json()
    assert body["overridden"] == {"ttl_seconds": 300}
    await patch_settings(client, code_length=7, ttl_seconds=900)
    effective = (await client.get("/v1/admin/apps/mobile/settings", headers=ADMIN)).json()["effective"]
    assert effective["code_length"] == 7  # global
    assert effective["ttl_seconds"] == 300  # still the app's own


async def test_an_app_change_is_audited_with_the_app_named(client: Client) -> None:
    await _patch(client, "mobile", max_attempts=3)
    audit = (await client.get("/v1/admin/audit", headers=ADMIN)).json()
    assert {k: audit[0][k] for k in ("field", "old", "new")} == {
        "field": "apps.mobile.max_attempts",
        "old": 5,
        "new": 3,
    }
    assert audit[0]["admin"] == "admin"


async def test_weak_app_settings_warn_with_the_app_named(client: Client) -> None:
    body = (await _patch(client, "mobile", code_length=4)).json()
    assert body["warnings"] and all(w.startswith("app mobile: ") for w in body["warnings"])


async def test_bad_app_settings_are_400_and_change_nothing(client: Client) -> None:
    for changes in ({"code_length": "eight"}, {"nonsense": 1}, {"code_length": 99}):
        assert_problem(await _patch(client, "mobile", **changes), 400, "validation_error")
    assert (await client.get("/v1/admin/apps/mobile/settings", headers=ADMIN)).json()["overridden"] == {}


@pytest.mark.parametrize(
    "changes",
    [{"code_length": "8"}, {"code_length": 6.0}, {"ttl_seconds": "86400.0"}, {"send_limit": {"count": "3"}}],
    ids=["string-int", "float-int", "string-float", "nested-string"],
)
async def test_app_settings_numbers_must_be_json_integers(client: Client, changes: dict[str, Any]) -> None:
    """Decoded strictly, like PATCH /v1/admin/settings: a number an admin wrote as text is a mistake."""
    body = assert_problem(await _patch(client, "mobile", **changes), 400, "validation_error")
    assert body["errors"][0]["field"].split(".")[0] == next(iter(changes))
    assert (await client.get("/v1/admin/apps/mobile/settings", headers=ADMIN)).json()["overridden"] == {}


async def test_an_unknown_app_is_404_and_a_client_key_is_403(client: Client) -> None:
    assert_problem(await client.get("/v1/admin/apps/nobody/settings", headers=ADMIN), 404, "not_found")
    assert_problem(await _patch(client, "nobody", code_length=8), 404, "not_found")
    assert_problem(await client.get("/v1/admin/apps", headers=CLIENT), 403, "forbidden")
