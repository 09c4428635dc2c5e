"""The live settings document in Redis when it goes bad: unknown fields, garbage, a lost key.

The operator's baseline is a file (``OTP_SETTINGS_FILE``); what admins PATCH lives in Redis on top
of it. Whatever happens to the document, the service keeps the settings it last read well (never the
built-in defaults, never a 500), says so on ``/health/ready`` and in a metric, refuses admin writes
with 503 ``settings_unreadable`` until an admin replaces the document, and is repaired by a PUT or
by ``otp-service settings reset``.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from prometheus_client.parser import text_string_to_metric_families

from otp_service.settings import Settings
from tests.api.conftest import Backend
from tests.api.helpers import Client, assert_problem, check, patch_settings, send
from tests.conftest import ADMIN, CLIENT, Vendors, build_app, make_settings
from tests.processes import clean_env, otp_service_command

LIVE = "otp:{settings}:live"
AUDIT = "otp:{settings}:audit"
US = "+12025550143"
SPAIN = "+34600100200"
BASELINE = """\
# the operator's baseline: what every replica starts from
max_attempts = 4
brand = "Baseline"
allowed_countries = ["ES", "BR"]
"""

BAD_DOCUMENTS = {
    "not_json": b"{version: 3",
    "not_utf8": b'{"version": 3, "settings": {"brand": "\xff\xfe"}}',
    "not_an_object": b"[1, 2, 3]",
    "version_not_a_number": b'{"version": "three", "settings": {}}',
    "no_settings": b'{"version": 3}',
    "out_of_range": b'{"version": 3, "settings": {"max_attempts": 999}}',
    "wrong_type": b'{"version": 3, "settings": {"code_length": "8"}}',
    "deeply_nested": b'{"version": 3, "settings": ' + b"[" * 2000 + b"]" * 2000 + b"}",
    # Well-typed but breaking a rule a PATCH would have refused: the message could not be rendered.
    "no_en_template": b'{"version": 3, "settings": {"templates": {"es": "Tu codigo {code}"}}}',
    "unknown_placeholder": b'{"version": 3, "settings": {"templates": {"en": "{code} {secret}"}}}',
    "duplicate_provider": b'{"version": 3, "settings": {"providers": ["gatum", "gatum"]}}',
}


@pytest.fixture
def baseline_file(tmp_path: Path) -> Path:
    path = tmp_path / "settings.toml"
    path.write_text(BASELINE)
    return path


@pytest.fixture
def settings(redis_backend: Backend) -> Settings:
    # A cache of 0: every request reads the document, so a change is seen without waiting.
    return make_settings(OTP_REDIS_URL=redis_backend.url, OTP_SETTINGS_CACHE_S="0")


@pytest.fixture
def file_settings(redis_backend: Backend, baseline_file: Path) -> Settings:
    return make_settings(
        OTP_REDIS_URL=redis_backend.url, OTP_SETTINGS_FILE=str(baseline_file), OTP_SETTINGS_CACHE_S="0"
    )


@pytest.fixture
async def file_client(file_settings: Settings, redis: Any) -> AsyncIterator[Client]:
    """A replica whose baseline is the file."""
    async with AsyncTestClient(build_app(file_settings, Vendors())) as app:
        yield app


@pytest.fixture
async def replica(file_settings: Settings, redis: Any) -> AsyncIterator[Client]:
    """A second app on the same Redis: another replica of the deployment."""
    async with AsyncTestClient(build_app(file_settings, Vendors())) as other:
        yield other


async def settings_of(client: Client) -> dict[str, Any]:
    response = await client.get("/v1/admin/settings", headers=ADMIN)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def document(redis: Any) -> dict[str, Any]:
    raw = await redis.get(LIVE)
    assert raw is not None
    loaded: dict[str, Any] = json.loads(raw)
    return loaded


async def document_valid_gauge(client: Client) -> float:
    response = await client.get("/metrics")
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            if sample.name == "otp_settings_document_valid":
                return float(sample.value)
    raise AssertionError("otp_settings_document_valid is not exported")


async def assert_reports_unreadable(client: Client) -> None:
    ready = await client.get("/health/ready")
    # Still ready: every replica reads the same document, so refusing traffic would take them all out.
    assert ready.status_code == 200
    assert ready.json()["settings"] == "unreadable"
    assert await document_valid_gauge(client) == 0
    assert_problem(
        await client.patch("/v1/admin/settings", json={"brand": "X"}, headers=ADMIN), 503, "settings_unreadable"
    )


async def assert_healthy(client: Client) -> None:
    ready = await client.get("/health/ready")
    assert ready.status_code == 200
    assert ready.json()["settings"] == "ok"
    assert await document_valid_gauge(client) == 1


async def test_a_field_from_a_newer_release_is_ignored_and_the_allowlist_stays(client: Client, redis: Any) -> None:
    await patch_settings(client, allowed_countries=["ES"], max_attempts=3)
    assert_problem(await send(client, US), 403, "country_not_allowed")
    doc = await document(redis)
    doc["settings"]["voice_fallback"] = True  # written by a newer release
    await redis.set(LIVE, json.dumps(doc))
    assert_problem(await send(client, US), 403, "country_not_allowed")
    body = await settings_of(client)
    assert (body["allowed_countries"], body["max_attempts"]) == (["ES"], 3)
    await assert_healthy(client)


async def test_a_patch_keeps_the_fields_of_a_newer_release(client: Client, redis: Any) -> None:
    await patch_settings(client, allowed_countries=["ES"])
    doc = await document(redis)
    doc["settings"]["voice_fallback"] = True
    doc["written_by"] = "otp-service 9.0"
    await redis.set(LIVE, json.dumps(doc))
    body = await patch_settings(client, brand="Globex")
    assert (body["brand"], body["allowed_countries"]) == ("Globex", ["ES"])
    after = await document(redis)
    assert after["settings"]["voice_fallback"] is True
    assert after["written_by"] == "otp-service 9.0"
    assert after["settings"]["brand"] == "Globex"


@pytest.mark.parametrize("bad", list(BAD_DOCUMENTS.values()), ids=list(BAD_DOCUMENTS))
async def test_an_unreadable_document_keeps_the_last_good_settings_until_a_put(
    client: Client, redis: Any, bad: bytes
) -> None:
    await patch_settings(client, allowed_countries=["ES"], max_attempts=3)
    await redis.set(LIVE, bad)
    # Every route keeps working on the last good settings: no 500, no built-in defaults.
    assert_problem(await send(client, US), 403, "country_not_allowed")
    sent = await send(client, SPAIN)
    assert sent.status_code == 201, sent.text
    assert (await check(client, "000000", to=SPAIN)).status_code in (200, 400)
    assert (await client.get(f"/v1/verifications/{sent.json()['id']}", headers=CLIENT)).status_code == 200
    body = await settings_of(client)
    assert (body["allowed_countries"], body["max_attempts"]) == (["ES"], 3)
    assert any("unreadable" in warning for warning in body["warnings"])
    app = (await client.get("/v1/admin/apps/web/settings", headers=ADMIN)).json()
    assert app["effective"]["allowed_countries"] == ["ES"]  # an app's settings sit on the last good ones
    app_patch = await client.patch("/v1/admin/apps/web/settings", json={"brand": "X"}, headers=ADMIN)
    assert_problem(app_patch, 503, "settings_unreadable")
    assert (await client.get("/v1/admin/audit", headers=ADMIN)).status_code == 200
    await assert_reports_unreadable(client)
    # An admin replaces the whole document; fields not given follow the baseline (here: the defaults).
    put = await client.put("/v1/admin/settings", json={"allowed_countries": ["ES"]}, headers=ADMIN)
    assert put.status_code == 200, put.text
    assert (put.json()["allowed_countries"], put.json()["max_attempts"], put.json()["brand"]) == (["ES"], 5, "Acme")
    assert (await patch_settings(client, brand="Globex"))["brand"] == "Globex"
    await assert_healthy(client)


async def test_a_document_of_the_wrong_redis_type_is_unreadable_not_a_503_everywhere(
    client: Client, redis: Any
) -> None:
    await patch_settings(client, allowed_countries=["ES"])
    await redis.delete(LIVE)
    await redis.hset(LIVE, "version", "3")
    assert_problem(await send(client, US), 403, "country_not_allowed")
    await assert_reports_unreadable(client)
    assert (await client.put("/v1/admin/settings", json={}, headers=ADMIN)).status_code == 200
    assert (await patch_settings(client, brand="Globex"))["brand"] == "Globex"


async def test_a_replica_starting_on_an_unreadable_document_uses_the_baseline_and_says_so(
    file_settings: Settings, redis: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    await redis.set(LIVE, b"{garbage")
    async with AsyncTestClient(build_app(file_settings, Vendors())) as fresh:
        body = await settings_of(fresh)
        assert (body["brand"], body["max_attempts"], body["allowed_countries"]) == ("Baseline", 4, ["ES", "BR"])
        assert_problem(await send(fresh, US), 403, "country_not_allowed")
        await assert_reports_unreadable(fresh)
    events = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    unreadable = [e for e in events if e["event"] == "settings.document_unreadable"]
    assert unreadable and unreadable[0]["serving"] == "baseline"
    assert unreadable[0]["level"] == "error"


async def test_a_lost_document_falls_back_to_the_baseline_file_and_logs_it(
    file_client: Client, redis: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    client = file_client
    await patch_settings(client, brand="Globex", max_attempts=7)
    await redis.delete(LIVE)  # Redis restarted without persistence
    body = await settings_of(client)
    assert (body["brand"], body["max_attempts"], body["allowed_countries"]) == ("Baseline", 4, ["ES", "BR"])
    assert_problem(await send(client, US), 403, "country_not_allowed")
    await assert_healthy(client)
    events = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    lost = [e for e in events if e["event"] == "settings.document_missing" and e["lost"]]
    assert lost and lost[0]["serving"] == "baseline" and lost[0]["level"] == "warning"
    assert (await patch_settings(client, brand="Initech"))["brand"] == "Initech"


async def test_a_baseline_change_applies_to_the_fields_nobody_patched(
    file_settings: Settings, redis: Any, baseline_file: Path, redis_backend: Backend
) -> None:
    async with AsyncTestClient(build_app(file_settings, Vendors())) as before:
        await patch_settings(before, brand="Globex")
    newer = 'max_attempts = 7\nbrand = "Newer baseline"\nresend_cooldown_seconds = 45\n'
    await asyncio.to_thread(baseline_file.write_text, newer)
    restarted = make_settings(OTP_REDIS_URL=redis_backend.url, OTP_SETTINGS_FILE=str(baseline_file))
    async with AsyncTestClient(build_app(restarted, Vendors())) as after:
        body = await settings_of(after)
    assert body["brand"] == "Globex"  # patched: the admin's value stays
    assert (body["max_attempts"], body["resend_cooldown_seconds"]) == (7, 45)  # nobody patched them
    assert body["allowed_countries"] is None  # the new file no longer restricts countries


async def test_put_replaces_the_document_and_is_audited(file_client: Client, redis: Any) -> None:
    client = file_client
    await patch_settings(client, brand="Globex", code_length=8)
    put = await client.put("/v1/admin/settings", json={"max_attempts": 3}, headers=ADMIN)
    assert put.status_code == 200, put.text
    body = put.json()
    assert (body["brand"], body["code_length"], body["max_attempts"]) == ("Baseline", 6, 3)
    entries = (await client.get("/v1/admin/audit", headers=ADMIN)).json()
    replaced = [e for e in entries if e["field"] == "*"]
    assert replaced and replaced[0]["new"] == ["max_attempts"]
    assert {e["field"] for e in entries[: entries.index(replaced[0])]} <= {"brand", "code_length", "max_attempts"}
    assert_problem(
        await client.put("/v1/admin/settings", json={"max_attempts": 0}, headers=ADMIN), 400, "validation_error"
    )
    assert_problem(
        await client.put("/v1/admin/settings", json={"providers": ["nobody"]}, headers=ADMIN), 400, "validation_error"
    )
    assert (await settings_of(client))["max_attempts"] == 3  # nothing applied


async def test_replicas_keep_the_last_good_settings_until_settings_reset_repairs_the_document(
    file_client: Client, replica: Client, redis: Any, redis_backend: Backend, baseline_file: Path
) -> None:
    client = file_client
    await patch_settings(client, allowed_countries=["ES"], max_attempts=3)
    for app in (client, replica):
        assert (await settings_of(app))["max_attempts"] == 3
    await redis.set(LIVE, b'{"version": 9, "settings": {"max_attempts": "many"}}')
    for app in (client, replica):
        assert_problem(await send(app, US), 403, "country_not_allowed")
        assert (await settings_of(app))["max_attempts"] == 3
        await assert_reports_unreadable(app)

    environ = {
        **clean_env(),
        **{k: v for k, v in Vendors.env().items()},
        "OTP_ENV": "production",
        "OTP_REDIS_URL": redis_backend.url,
        "OTP_PEPPER": "pepper-for-tests-0123456789abcdef",
        "OTP_API_KEYS": "web:web-secret-key-0123456789",
        "OTP_ADMIN_TOKEN": "admin-secret-token-0123456789",
        "OTP_PROVIDERS": "gatum",
        "OTP_SETTINGS_FILE": str(baseline_file),
    }
    done = await asyncio.to_thread(
        subprocess.run,
        [*otp_service_command(), "settings", "reset"],
        env=environ,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()
    assert "baseline" in done.stdout.decode()
    for app in (client, replica):
        await assert_healthy(app)
        body = await settings_of(app)
        assert (body["max_attempts"], body["allowed_countries"]) == (4, ["ES", "BR"])
    assert (await patch_settings(replica, brand="Globex"))["brand"] == "Globex"
    assert (await settings_of(client))["brand"] == "Globex"
    entries = (await client.get("/v1/admin/audit", headers=ADMIN)).json()
    reset = [e for e in entries if e["field"] == "*"]
    assert reset and reset[0]["admin"].startswith("cli") and reset[0]["old"] is None and reset[0]["new"] == []


async def test_a_document_of_the_previous_release_keeps_its_admin_changes_and_takes_the_file_for_the_rest(
    file_client: Client, redis: Any
) -> None:
    # The previous release stored a full copy (no "overridden"): what differs from the built-in
    # defaults is what its admins changed; the rest must follow the new baseline file.
    defaults = await settings_of(file_client)
    previous = {k: v for k, v in defaults.items() if k != "warnings"}
    previous.update(max_attempts=5, brand="Globex", allowed_countries=None, code_length=8)
    await redis.set(LIVE, json.dumps({"version": 4, "settings": previous}))
    body = await settings_of(file_client)
    assert (body["brand"], body["code_length"]) == ("Globex", 8)  # the admins' changes
    assert (body["max_attempts"], body["allowed_countries"]) == (4, ["ES", "BR"])  # equal to the defaults: the file
    await patch_settings(file_client, ttl_seconds=300)
    assert sorted((await document(redis))["overridden"]) == ["brand", "code_length", "ttl_seconds"]


async def test_an_unreadable_audit_entry_is_skipped_not_a_500(client: Client, redis: Any) -> None:
    await patch_settings(client, brand="Globex")
    await redis.lpush(AUDIT, b"{not json", b'{"time": 1}')
    entries = (await client.get("/v1/admin/audit", headers=ADMIN)).json()
    assert [(e["field"], e["new"]) for e in entries] == [("brand", "Globex")]
