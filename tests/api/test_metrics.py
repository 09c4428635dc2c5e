"""``GET /metrics``: every family the operations dashboard needs moves when its event happens, and no
label or value ever carries a phone number, a verification id or a code.

Metrics are process-wide (one registry for every app in the test run), so each test reads the
counters before and after and asserts the difference, through the endpoint itself.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from litestar.testing import AsyncTestClient
from prometheus_client.parser import text_string_to_metric_families

from tests.api.helpers import NUMBER, Client, check, send, wrong
from tests.conftest import CLIENT, Vendors, build_app, make_settings

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def scrape(client: Client) -> tuple[str, Samples]:
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return response.text, samples


def value(samples: Samples, name: str, **labels: str) -> float:
    """The sum over every sample of ``name`` whose labels include ``labels`` (0 when there is none)."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and wanted <= ls)


async def delta(client: Client, action: Callable[[], Awaitable[Any]], name: str, **labels: str) -> float:
    _, before = await scrape(client)
    await action()
    _, after = await scrape(client)
    return value(after, name, **labels) - value(before, name, **labels)


async def test_a_send_counts_by_provider_and_outcome_and_times_the_provider(client: Client) -> None:
    async def sent() -> None:
        assert (await send(client)).status_code == 201

    _, before = await scrape(client)
    await sent()
    _, after = await scrape(client)
    grew = {
        name: value(after, name, **labels) - value(before, name, **labels)
        for name, labels in (
            ("otp_sends_total", {"provider": "gatum", "outcome": "accepted"}),
            ("otp_provider_latency_seconds_count", {"provider": "gatum", "operation": "send"}),
            ("otp_http_requests_total", {"path": "/v1/verifications", "method": "POST", "status_code": "201"}),
            ("otp_http_request_duration_seconds_count", {"path": "/v1/verifications", "status_code": "201"}),
        )
    }
    assert grew == {name: 1 for name in grew}


async def test_checks_count_by_outcome(client: Client, vendors: Vendors) -> None:
    await send(client)
    code = vendors.last_code()

    async def wrong_check() -> None:
        assert (await check(client, wrong(code))).json()["valid"] is False

    async def right_check() -> None:
        assert (await check(client, code)).json()["valid"] is True

    async def unknown_check() -> None:
        assert (await check(client, code, to="+34600100299")).status_code == 404

    assert await delta(client, wrong_check, "otp_checks_total", outcome="wrong") == 1
    assert await delta(client, right_check, "otp_checks_total", outcome="approved") == 1
    assert await delta(client, unknown_check, "otp_checks_total", outcome="not_found") == 1


async def test_a_refused_send_counts_under_the_limit_that_refused_it(client: Client) -> None:
    await send(client)

    async def too_soon() -> None:
        assert (await send(client)).status_code == 429

    assert await delta(client, too_soon, "otp_rate_limited_total", limit="resend_cooldown") == 1


async def test_a_failing_provider_counts_its_errors_and_shows_its_breaker(client: Client, vendors: Vendors) -> None:
    vendors.gatum.fail_with_status = 500

    async def fails() -> None:
        assert (await send(client)).status_code == 503

    assert await delta(client, fails, "otp_provider_errors_total", provider="gatum") == 1
    _, samples = await scrape(client)
    assert value(samples, "otp_circuit_breaker_state", provider="gatum") in (0, 1, 2)
    assert ("otp_circuit_breaker_state", frozenset({("provider", "gatum")})) in samples


async def test_an_unreachable_redis_counts_as_a_redis_error(vendors: Vendors) -> None:
    settings = make_settings(OTP_REDIS_URL="redis://127.0.0.1:1/0", OTP_REDIS_TIMEOUT_S="0.3")  # nothing listens
    async with AsyncTestClient(build_app(settings, vendors)) as client:

        async def down() -> None:
            assert (await send(client)).status_code == 503

        assert await delta(client, down, "otp_redis_errors_total") == 1


async def test_no_number_id_or_code_reaches_any_label(client: Client, vendors: Vendors) -> None:
    vid = (await send(client)).json()["id"]
    code = vendors.last_code()
    await check(client, wrong(code))
    await client.get(f"/v1/verifications/{vid}", headers=CLIENT)
    text, samples = await scrape(client)
    for needle in (NUMBER[3:], vid):  # nine digits or an id: never by chance in a float
        assert needle not in text
    label_values = {v for _, labels in samples for _, v in labels}
    for needle in (NUMBER[3:], vid, code, wrong(code)):  # a code could be digits of some latency sum
        assert not any(needle in v for v in label_values), needle
    paths = {dict(labels).get("path") for name, labels in samples if name == "otp_http_requests_total"}
    assert "/v1/verifications/{verification_id}" in paths  # the route template, never the id


async def test_a_request_is_in_progress_only_while_it_runs_and_is_timed_once(client: Client) -> None:
    """The per-process cache of label children (``api/http_metrics.py``) must move the same series as
    Litestar's own middleware: in progress back to zero, one count and one duration per request."""
    labels = {"path": "/v1/verifications/{verification_id}", "method": "GET"}

    async def status_read() -> None:
        assert (await client.get("/v1/verifications/vf_" + "0" * 32, headers=CLIENT)).status_code == 404

    _, before = await scrape(client)
    for _ in range(3):
        await status_read()
    _, after = await scrape(client)

    def grew(name: str, **more: str) -> float:
        return value(after, name, **labels, **more) - value(before, name, **labels, **more)

    assert grew("otp_http_requests_total", status_code="404") == 3
    assert grew("otp_http_request_duration_seconds_count", status_code="404") == 3
    assert grew("otp_http_request_duration_seconds_sum", status_code="404") > 0
    assert value(after, "otp_http_requests_in_progress", **labels) == 0
    assert grew("otp_http_requests_error_total") == 0
