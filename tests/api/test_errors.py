"""Every failure is problem JSON; the router's own errors too (API.md, Conventions)."""

from __future__ import annotations

from tests.api.helpers import Client, assert_problem
from tests.conftest import CLIENT


async def test_unknown_route_is_problem_json_404(client: Client) -> None:
    assert_problem(await client.get("/v1/nothing-here", headers=CLIENT), 404, "not_found")


async def test_wrong_method_is_problem_json_405(client: Client) -> None:
    response = await client.put("/v1/verifications/check", json={}, headers=CLIENT)
    assert_problem(response, 405, "validation_error")
    assert "allow" in {k.lower() for k in response.headers}


async def test_oversized_body_is_413_and_not_processed(client: Client) -> None:
    body = b'{"to": "+34600100200", "locale": "' + b"a" * 20000 + b'"}'
    response = await client.post(
        "/v1/verifications", content=body, headers={**CLIENT, "Content-Type": "application/json"}
    )
    assert_problem(response, 413, "validation_error")


async def test_responses_carry_a_request_id_and_echo_a_safe_one(client: Client) -> None:
    response = await client.get("/health/live")
    assert len(response.headers["x-request-id"]) >= 16
    echoed = await client.get("/health/live", headers={"X-Request-ID": "abc-123"})
    assert echoed.headers["x-request-id"] == "abc-123"
    unsafe = await client.get("/health/live", headers={"X-Request-ID": "bad id <script>"})
    assert unsafe.headers["x-request-id"] != "bad id <script>"


async def test_health_endpoints(client: Client) -> None:
    assert (await client.get("/health/live")).json() == {"status": "ok"}
    assert (await client.get("/health/ready")).status_code == 200


async def test_metrics_expose_counters_without_numbers_or_codes(client: Client) -> None:
    await client.post("/v1/verifications", json={"to": "+34600100200"}, headers=CLIENT)
    text = (await client.get("/metrics")).text
    assert "otp_sends_total" in text
    assert "otp_http_requests_total" in text
    assert "600100200" not in text
