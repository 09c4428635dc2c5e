"""Send budgets per country, in all and per app, in SMS and in money (README "SMS pumping")."""

from __future__ import annotations

from typing import Any

from tests.api.helpers import Client, assert_problem, patch_settings, send
from tests.conftest import ADMIN, MOBILE, Vendors

GB = [f"+4474{i:03d}00100" for i in range(50)]  # each in its own 6-digit range
ES = [f"+346{i:03d}00100" for i in range(50)]


async def _budgets(client: Client) -> dict[tuple[str, Any], dict[str, Any]]:
    response = await client.get("/v1/admin/budgets", headers=ADMIN)
    assert response.status_code == 200, response.text
    return {(b["name"], b["app"]): b for b in response.json()}


async def test_a_spent_country_budget_answers_429_naming_it_with_retry_after(client: Client) -> None:
    await patch_settings(client, country_limits={"default": {"per_hour": 3}})
    for number in GB[:3]:
        assert (await send(client, number)).status_code == 201
    response = await send(client, GB[3])
    body = assert_problem(response, 429, "rate_limited")
    assert body["limit"] == "country_limits.GB.per_hour"
    assert 1 <= int(response.headers["Retry-After"]) <= 3600
    assert (await send(client, ES[0])).status_code == 201  # Spain has a counter of its own


async def test_a_listed_country_has_its_own_bounds(client: Client) -> None:
    await patch_settings(client, country_limits={"GB": {"per_day": 1}, "default": {"per_hour": 100}})
    assert (await send(client, GB[0])).status_code == 201
    assert assert_problem(await send(client, GB[1]), 429, "rate_limited")["limit"] == "country_limits.GB.per_day"


async def test_the_global_budget_counts_every_country(client: Client) -> None:
    await patch_settings(client, sms_budget={"per_day": 2})
    assert (await send(client, GB[0])).status_code == 201
    assert (await send(client, ES[0])).status_code == 201
    assert assert_problem(await send(client, ES[1]), 429, "rate_limited")["limit"] == "sms_budget.per_day"


async def test_an_app_budget_counts_only_that_apps_sends(client: Client) -> None:
    await patch_settings(client, app_sms_budget={"per_hour": 1})
    assert (await send(client, ES[0])).status_code == 201
    assert assert_problem(await send(client, ES[1]), 429, "rate_limited")["limit"] == "app_sms_budget.per_hour"
    assert (await send(client, ES[2], headers=MOBILE)).status_code == 201  # the other app has its own
    budgets = await _budgets(client)
    assert budgets[("app_sms_budget.per_hour", "web")]["used"] == 1
    assert budgets[("app_sms_budget.per_hour", "mobile")]["used"] == 1


async def test_a_money_budget_charges_each_countrys_price(client: Client) -> None:
    await patch_settings(client, prices={"GB": 0.5}, sms_budget={"spend_per_hour": 1.0})
    assert (await send(client, GB[0])).status_code == 201
    assert (await send(client, GB[1])).status_code == 201
    assert assert_problem(await send(client, GB[2]), 429, "rate_limited")["limit"] == "sms_budget.spend_per_hour"
    assert (await send(client, ES[0])).status_code == 201  # no price for Spain: it costs nothing here
    assert (await _budgets(client))[("sms_budget.spend_per_hour", None)]["used"] == 1.0


async def test_a_send_no_provider_delivered_gives_its_charge_back(client: Client, vendors: Vendors) -> None:
    await patch_settings(client, country_limits={"default": {"per_hour": 1}})
    vendors.gatum.fail_with_status = 500
    assert_problem(await send(client, GB[0]), 503, "provider_unavailable")
    vendors.gatum.fail_with_status = None
    assert (await _budgets(client))[("country_limits.GB.per_hour", None)]["used"] == 0
    assert (await send(client, GB[1])).status_code == 201


async def test_the_admin_sees_each_budgets_use_limit_and_reset(client: Client) -> None:
    await send(client, GB[0])
    await send(client, GB[1])
    budgets = await _budgets(client)
    country = budgets[("country_limits.GB.per_hour", None)]
    assert country["used"] == 2 and country["limit"] == 1000 and country["window"] == "hour"
    assert 1 <= country["resets_in_seconds"] <= 3600
    assert budgets[("sms_budget.per_day", None)]["used"] == 2
    assert budgets[("sms_budget.per_day", None)]["limit"] == 100_000


async def test_budgets_are_live_settings_with_ranges(client: Client) -> None:
    for bad in ({"country_limits": {"gb": {"per_hour": 1}}}, {"sms_budget": {"per_hour": 0}}, {"prices": {"GB": -1}}):
        response = await client.patch("/v1/admin/settings", json=bad, headers=ADMIN)
        assert_problem(response, 400, "validation_error")


async def test_budgets_name_only_known_countries(client: Client) -> None:
    response = await client.patch("/v1/admin/settings", json={"country_limits": {"XX": {"per_hour": 1}}}, headers=ADMIN)
    assert "XX" in assert_problem(response, 400, "validation_error")["detail"]


async def test_a_spent_budget_is_an_alertable_metric(client: Client) -> None:
    await patch_settings(client, country_limits={"default": {"per_hour": 1}})
    await send(client, GB[0])
    assert_problem(await send(client, GB[1]), 429, "rate_limited")
    metrics = (await client.get("/metrics")).text
    assert 'otp_budget_spent_total{budget="country_limits.per_hour",country="GB"}' in metrics
    assert 'otp_sms_sends_by_country_total{country="GB"}' in metrics


async def test_test_numbers_cost_no_budget(app_with: Any) -> None:
    numbers = {f"+3460010{i:04d}": "123456" for i in range(3)}
    async with app_with(OTP_TEST_NUMBERS="enabled") as client:
        await patch_settings(client, test_numbers=numbers, sms_budget={"per_hour": 1})
        for number in numbers:
            assert (await send(client, number)).status_code == 201
        assert (await send(client, GB[0])).status_code == 201  # the one SMS of the budget
        assert (await send(client, GB[1])).status_code == 429
