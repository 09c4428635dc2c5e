"""The conversion guard holds a number range whose codes are sent but never checked (README "SMS pumping")."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from redis.commands.core import AsyncScript
from redis.crc import key_slot

from otp_service.domain.redis_store import RedisStore
from tests.api.helpers import Client, assert_problem, check, patch_settings, send
from tests.conftest import ADMIN, Vendors

PREFIX = "+44740012"  # +44 and the first 6 digits of the national number
RANGE = [f"{PREFIX}{i:04d}" for i in range(100)]
ELSEWHERE = [f"+4474{i:03d}00100" for i in range(100, 200)]


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []

    async def held(self, hold: Any) -> None:
        self.events.append(("held", hold.prefix))

    async def released(self, prefix: str, country: str) -> None:
        self.events.append(("released", prefix))


async def test_the_20th_unchecked_send_to_one_range_holds_it(client: Client, vendors: Vendors) -> None:
    for number in RANGE[:19]:
        assert (await send(client, number)).status_code == 201
    response = await send(client, RANGE[19])
    body = assert_problem(response, 429, "rate_limited")
    assert body["limit"] == "conversion_guard"
    assert "fraud" not in body["detail"].lower()
    assert 3500 <= int(response.headers["Retry-After"]) <= 3600
    assert len(vendors.gatum.messages) == 19
    assert assert_problem(await send(client, RANGE[20]), 429, "rate_limited")["limit"] == "conversion_guard"
    assert (await send(client, ELSEWHERE[0])).status_code == 201  # other ranges are not affected


async def test_a_range_whose_codes_are_checked_is_never_held(client: Client, vendors: Vendors) -> None:
    for number in RANGE[:60]:
        assert (await send(client, number)).status_code == 201
        assert (await check(client, vendors.last_code(), to=number)).json()["status"] == "approved"


async def test_a_held_range_is_listed_counted_and_released_by_an_admin(client: Client) -> None:
    recorder = Recorder()
    client.app.state.fraud.observer = recorder
    for number in RANGE[:20]:
        await send(client, number)
    holds = (await client.get("/v1/admin/holds", headers=ADMIN)).json()
    assert [h["prefix"] for h in holds] == [PREFIX]
    stats = (await client.get("/v1/admin/stats?by=prefix&window=600", headers=ADMIN)).json()
    row = next(r for r in stats["rows"] if r["key"] == PREFIX)
    assert (row["sent"], row["approved"], row["conversion"], row["held"]) == (19, 0, 0.0, 1)
    assert row["held_for_seconds"] > 3500
    metrics = (await client.get("/metrics")).text
    assert 'otp_conversion_guard_holds_total{country="GB"}' in metrics

    released = await client.delete(f"/v1/admin/holds/{PREFIX}", headers=ADMIN)
    assert released.status_code == 200, released.text
    assert (await send(client, RANGE[21])).status_code == 201
    assert recorder.events == [("held", PREFIX), ("released", PREFIX)]
    assert_problem(await client.delete(f"/v1/admin/holds/{PREFIX}", headers=ADMIN), 404, "not_found")


async def test_stats_by_country_count_sends_approvals_and_refusals(client: Client, vendors: Vendors) -> None:
    await send(client, ELSEWHERE[0])
    await check(client, vendors.last_code(), to=ELSEWHERE[0])
    await send(client, ELSEWHERE[1])
    await send(client, "+441212345678")  # a landline: refused
    stats = (await client.get("/v1/admin/stats?by=country", headers=ADMIN)).json()
    gb = next(r for r in stats["rows"] if r["key"] == "GB")
    assert (gb["sent"], gb["approved"], gb["conversion"], gb["refused"]) == (2, 1, 0.5, 1)


async def test_the_thresholds_are_live_settings(client: Client) -> None:
    await patch_settings(client, conversion_guard={"min_sends": 5, "prefix_digits": 5})
    for number in RANGE[:4]:
        assert (await send(client, number)).status_code == 201
    assert assert_problem(await send(client, RANGE[4]), 429, "rate_limited")["limit"] == "conversion_guard"
    holds = (await client.get("/v1/admin/holds", headers=ADMIN)).json()
    assert [h["prefix"] for h in holds] == [PREFIX[:-1]]


async def test_a_disabled_guard_holds_nothing(client: Client) -> None:
    await patch_settings(client, conversion_guard={"enabled": False})
    for number in RANGE[:30]:
        assert (await send(client, number)).status_code == 201


async def test_a_bad_prefix_or_window_is_a_validation_error(client: Client) -> None:
    assert_problem(await client.delete("/v1/admin/holds/34600", headers=ADMIN), 400, "validation_error")
    assert_problem(await client.get("/v1/admin/stats?window=5", headers=ADMIN), 400, "validation_error")
    assert_problem(await client.get("/v1/admin/stats?by=city", headers=ADMIN), 400, "validation_error")
    patch = {"conversion_guard": {"prefix_digits": 8}}
    assert_problem(await client.patch("/v1/admin/settings", json=patch, headers=ADMIN), 400, "validation_error")


async def test_sends_no_provider_delivered_do_not_count_towards_a_hold(client: Client, vendors: Vendors) -> None:
    vendors.gatum.fail_with_status = 500
    for number in RANGE[:30]:  # a provider outage: never a 429 from the guard
        assert_problem(await send(client, number), 503, "provider_unavailable")
    assert (await client.get("/v1/admin/holds", headers=ADMIN)).json() == []
    stats = (await client.get("/v1/admin/stats?by=prefix&window=600", headers=ADMIN)).json()
    assert next(r for r in stats["rows"] if r["key"] == PREFIX)["sent"] == 0


# Budgets of every kind (SMS and money, shared and the app's own) next to the guard.
EVERY_BUDGET = {
    "prices": {"GB": 0.5},
    "sms_budget": {"per_hour": 100, "spend_per_day": 50.0},
    "app_sms_budget": {"per_hour": 100},
}


async def _budgets_used(client: Client) -> dict[tuple[str, Any], float]:
    response = await client.get("/v1/admin/budgets", headers=ADMIN)
    return {(b["name"], b["app"]): b["used"] for b in response.json()}


async def test_a_send_is_admitted_by_one_script_on_the_fraud_slot(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    await patch_settings(client, **EVERY_BUDGET)
    calls: list[list[str]] = []
    script = RedisStore.script

    async def counted(self: RedisStore, s: AsyncScript, keys: Sequence[str], args: Sequence[Any]) -> Any:
        calls.append(list(keys))
        return await script(self, s, keys, args)

    monkeypatch.setattr(RedisStore, "script", counted)
    assert (await send(client, RANGE[0])).status_code == 201
    monkeypatch.undo()
    fraud_slot = key_slot(b"fraud")
    fraud_calls = [keys for keys in calls if any(key_slot(key.encode()) == fraud_slot for key in keys)]
    assert len(fraud_calls) == 1
    assert {key_slot(key.encode()) for key in fraud_calls[0]} == {fraud_slot}
    used = await _budgets_used(client)  # ... which charged every budget and counted the send
    assert used[("sms_budget.per_hour", None)] == 1 and used[("sms_budget.spend_per_day", None)] == 0.5
    assert used[("country_limits.GB.per_hour", None)] == 1 and used[("app_sms_budget.per_hour", "web")] == 1
    stats = (await client.get("/v1/admin/stats?by=prefix&window=600", headers=ADMIN)).json()
    assert next(r for r in stats["rows"] if r["key"] == PREFIX)["sent"] == 1


async def test_a_send_the_guard_refuses_leaves_every_budget_as_it_was(client: Client) -> None:
    await patch_settings(client, **EVERY_BUDGET)
    for number in RANGE[:19]:
        assert (await send(client, number)).status_code == 201
    before = await _budgets_used(client)
    assert before[("country_limits.GB.per_hour", None)] == 19 and before[("sms_budget.spend_per_day", None)] == 9.5
    for number in RANGE[19:22]:  # the send that trips the hold, then sends to the held range
        assert assert_problem(await send(client, number), 429, "rate_limited")["limit"] == "conversion_guard"
    assert await _budgets_used(client) == before
