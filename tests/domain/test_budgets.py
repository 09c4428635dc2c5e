"""The budget script: all or nothing, and a give-back by token that is safe in either order."""

from __future__ import annotations

import asyncio

import pytest

from otp_service.domain.budgets import BudgetLine, Budgets, budget_lines
from otp_service.domain.errors import RateLimited, StoreUnavailable
from otp_service.domain.fraud_policy import Budget
from otp_service.domain.policy import LiveSettings
from otp_service.domain.redis_store import RedisStore


def _line(name: str, limit: float, amount: float = 1.0) -> BudgetLine:
    return BudgetLine(name, name, name, "", limit, amount, 3_600_000)


@pytest.fixture
def budgets(redis_store: RedisStore) -> Budgets:
    return Budgets(redis_store)


async def _used(budgets: Budgets) -> dict[str, float]:
    return {use.name: use.used for use in await budgets.usage()}


async def test_a_charge_refused_by_one_budget_charges_none(budgets: Budgets) -> None:
    await budgets.charge([_line("a.per_hour", 1)], "t1")
    with pytest.raises(RateLimited) as refused:
        await budgets.charge([_line("b.per_hour", 5), _line("a.per_hour", 1)], "t2")
    assert refused.value.limit == "a.per_hour"
    assert 1 <= refused.value.retry_after_s <= 3600
    assert await _used(budgets) == {"a.per_hour": 1.0}


async def test_a_give_back_returns_every_budget_of_the_charge(budgets: Budgets) -> None:
    await budgets.charge([_line("a.per_hour", 3), _line("b.per_hour", 3, 0.25)], "t1")
    await budgets.refund("t1")
    await budgets.refund("t1")  # twice is once
    assert await _used(budgets) == {"a.per_hour": 0.0, "b.per_hour": 0.0}


async def test_a_charge_arriving_after_its_give_back_takes_nothing(budgets: Budgets) -> None:
    await budgets.refund("late")
    with pytest.raises(StoreUnavailable):
        await budgets.charge([_line("a.per_hour", 3)], "late")
    assert await _used(budgets) == {}


async def test_concurrent_charges_never_exceed_the_budget(budgets: Budgets) -> None:
    results = await asyncio.gather(
        *(budgets.charge([_line("a.per_hour", 10)], f"t{i}") for i in range(50)), return_exceptions=True
    )
    assert sum(r is None for r in results) == 10
    assert all(isinstance(r, RateLimited) for r in results if r is not None)


def test_shared_budgets_come_from_the_global_settings_and_app_ones_from_the_apps() -> None:
    shared = LiveSettings(sms_budget=Budget(per_day=5), country_limits={}, prices={"default": 0.1})
    own = LiveSettings(sms_budget=Budget(per_day=999), app_sms_budget=Budget(spend_per_hour=2.0), country_limits={})
    lines = budget_lines(shared, own, app="web", country="GB")
    assert [(line.name, line.key, line.limit, line.amount) for line in lines] == [
        ("sms_budget.per_day", "sms_budget.per_day", 5, 1.0),
        ("app_sms_budget.spend_per_hour", "app:web:app_sms_budget.spend_per_hour", 2.0, 0.1),
    ]
