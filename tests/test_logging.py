"""No code, hash, secret, API key or unmasked number ever reaches a log line (API.md, Conventions)."""

from __future__ import annotations

import json

import httpx
import pytest
from litestar.testing import AsyncTestClient

from tests.api.helpers import NUMBER, check, patch_settings, send, wrong
from tests.conftest import (
    ADMIN_TOKEN,
    API_KEY,
    CLIENT,
    PEPPER,
    WEBHOOK_SECRET,
    Vendors,
    build_app,
    make_settings,
)
from tests.fakes import gatum


async def test_a_whole_session_logs_no_code_secret_or_number(
    redis_server,
    redis,
    vendors: Vendors,
    capsys: pytest.CaptureFixture[str],  # type: ignore[no-untyped-def]
) -> None:
    settings = make_settings(OTP_REDIS_URL=redis_server.url, OTP_PROVIDERS="gatum,wavy")
    codes: list[str] = []
    async with AsyncTestClient(build_app(settings, vendors)) as client:
        await patch_settings(client, resend_cooldown_seconds=0)
        await send(client)
        codes.append(vendors.last_code())
        await check(client, wrong(codes[-1]))
        await check(client, "12")  # validation error
        vendors.gatum.raise_exc = httpx.ConnectError  # fail over to wavy
        await send(client)
        codes.append(vendors.last_code("wavy"))
        await check(client, codes[-1])
        await client.post(f"/v1/webhooks/gatum/{WEBHOOK_SECRET}", content=b"[]")
        await client.post("/v1/webhooks/gatum/not-the-secret", content=b"[]")
        await client.post("/v1/verifications", json={"to": NUMBER}, headers={"Authorization": "Bearer nope"})
        hashes = [v for k in await redis.keys("otp:*vf:*") for v in [await redis.hget(k, "code_hash")] if v]
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    assert len(lines) >= 10
    logged = "\n".join(lines)
    for secret in [API_KEY, ADMIN_TOKEN, WEBHOOK_SECRET, PEPPER, gatum.PASSWORD, *codes]:
        assert secret not in logged, secret
    for value in hashes:
        assert value.decode() not in logged
    assert NUMBER not in logged and NUMBER[1:] not in logged
    assert "+34******200" in logged  # masked numbers are what appears
    for line in lines:
        event = json.loads(line)
        assert "code" not in event and "text" not in event
    assert any(json.loads(line).get("client") == "web" for line in lines)
    # A failed provider is logged with the failure's class, enough to tell a timeout from a drop.
    failed = [event for event in map(json.loads, lines) if event["event"] == "provider.failed"]
    assert [(f["provider"], f["reason"], f["error"]) for f in failed] == [("gatum", "unavailable", "ConnectError")]


def test_the_request_line_has_client_masked_number_and_outcome(
    redis_server,
    vendors: Vendors,
    capsys: pytest.CaptureFixture[str],  # type: ignore[no-untyped-def]
) -> None:
    import asyncio

    async def run() -> None:
        settings = make_settings(OTP_REDIS_URL=redis_server.url)
        async with AsyncTestClient(build_app(settings, vendors)) as client:
            await client.post("/v1/verifications", json={"to": NUMBER}, headers=CLIENT)

    asyncio.run(run())
    lines = [json.loads(x) for x in capsys.readouterr().err.splitlines() if x.startswith("{")]
    requests = [line for line in lines if line["event"] == "request"]
    send_line = next(r for r in requests if r["path"] == "/v1/verifications")
    assert send_line["client"] == "web"
    assert send_line["to"] == "+34******200"
    assert send_line["outcome"] == "sent"
    assert send_line["status"] == 201
    assert send_line["request_id"]


def test_the_routers_own_404_and_405_get_a_request_id_and_a_request_line(
    redis_server,
    vendors: Vendors,
    capsys: pytest.CaptureFixture[str],  # type: ignore[no-untyped-def]
) -> None:
    """Litestar's route middleware never sees a request no route matched: the request log wraps the router."""
    import asyncio

    async def run() -> list[httpx.Response]:
        settings = make_settings(OTP_REDIS_URL=redis_server.url)
        async with AsyncTestClient(build_app(settings, vendors)) as client:
            missing = await client.get("/v1/nothing-here", headers={**CLIENT, "X-Request-ID": "req-404"})
            wrong_method = await client.put("/v1/verifications/check", json={}, headers=CLIENT)
            return [missing, wrong_method]

    missing, wrong_method = asyncio.run(run())
    assert (missing.status_code, missing.headers["x-request-id"]) == (404, "req-404")
    assert wrong_method.status_code == 405
    assert len(wrong_method.headers["x-request-id"]) >= 16
    lines = [json.loads(x) for x in capsys.readouterr().err.splitlines() if x.startswith("{")]
    requests = {(r["method"], r["status"]): r for r in lines if r["event"] == "request"}
    assert requests[("GET", 404)]["request_id"] == "req-404"
    assert requests[("GET", 404)]["path"] == "/v1/nothing-here"
    assert requests[("PUT", 405)]["request_id"] == wrong_method.headers["x-request-id"]
