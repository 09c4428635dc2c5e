"""The budget scripts: all or nothing, a give-back by token that is safe in either order, and the
admission that charges the budgets and has the conversion guard judge the send in one script."""

from __future__ import annotations

import asyncio

import pytest

from otp_service.domain.budgets import BudgetLine, Budgets, budget_lines
from otp_service.domain.conversion import Conversion, Judgement, Verdict
from otp_service.domain.errors import RateLimited, StoreUnavailable
from otp_service.domain.fraud_policy import Budget, ConversionGuard
from otp_service.domain.policy import LiveSettings
from otp_service.domain.redis_store import RedisStore


def _line(name: str, limit: float, amount: float = 1.0) -> BudgetLine:
    return BudgetLine(name, name, name, "", limit, amount, 3_600_000)


@pytest.fixture
def budgets(redis_store: RedisStore) -> Budgets:
    return Budgets(redis_store)


@pytest.fixture
def conversion(redis_store: RedisStore) -> Conversion:
    return Conversion(redis_store)


def _judge(conversion: Conversion, *, min_sends: int = 20, enabled: bool = True) -> Judgement:
    guard = ConversionGuard(min_sends=min_sends, enabled=enabled)
    return conversion.judgement("+34600100", "ES", guard, spend=0.5)


async def _used(budgets: Budgets) -> dict[str, float]:
    return {use.name: use.used for use in await budgets.usage()}


async def _prefix_counts(conversion: Conversion) -> tuple[int, int, int]:
    """The prefix's sends, refusals and held sends."""
    stats = await conversion.stats("p", 600, ConversionGuard())
    return next(((s.sent, s.refused, s.held) for s in stats if s.key == "+34600100"), (0, 0, 0))


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


async def test_an_admitted_send_is_charged_to_every_budget_and_counted_by_the_guard(
    budgets: Budgets, conversion: Conversion
) -> None:
    verdict = await budgets.admit([_line("a.per_hour", 3), _line("b.per_hour", 3, 0.5)], "t1", _judge(conversion))
    assert verdict.verdict is Verdict.OK
    assert await _used(budgets) == {"a.per_hour": 1.0, "b.per_hour": 0.5}
    assert await _prefix_counts(conversion) == (1, 0, 0)


async def test_a_send_the_guard_holds_is_charged_to_no_budget(budgets: Budgets, conversion: Conversion) -> None:
    lines = [_line("a.per_hour", 3), _line("b.per_hour", 3, 0.5)]
    await budgets.admit(lines, "t1", _judge(conversion, min_sends=2))
    held = await budgets.admit(lines, "t2", _judge(conversion, min_sends=2))
    assert held.verdict is Verdict.HOLD
    assert (held.sent, held.approved) == (2, 0)
    assert (await budgets.admit(lines, "t3", _judge(conversion, min_sends=2))).verdict is Verdict.HELD
    assert await _used(budgets) == {"a.per_hour": 1.0, "b.per_hour": 0.5}  # the first send's charge only
    assert await _prefix_counts(conversion) == (1, 0, 2)
    await budgets.refund("t2")  # a give-back of a refused send (a late retry) takes nothing more
    assert await _used(budgets) == {"a.per_hour": 1.0, "b.per_hour": 0.5}


async def test_a_spent_budget_refuses_the_send_before_the_guard_counts_it(
    budgets: Budgets, conversion: Conversion
) -> None:
    await budgets.admit([_line("a.per_hour", 1)], "t1", _judge(conversion))
    with pytest.raises(RateLimited) as refused:
        await budgets.admit([_line("b.per_hour", 5), _line("a.per_hour", 1)], "t2", _judge(conversion))
    assert refused.value.limit == "a.per_hour"
    assert 1 <= refused.value.retry_after_s <= 3600
    assert await _used(budgets) == {"a.per_hour": 1.0}
    assert await _prefix_counts(conversion) == (1, 1, 0)  # the refusal is counted, not as a send


async def test_a_disabled_guard_judges_nothing_but_still_counts_a_budgets_refusal(
    budgets: Budgets, conversion: Conversion
) -> None:
    off = _judge(conversion, min_sends=1, enabled=False)
    for token in ("t1", "t2"):
        assert (await budgets.admit([_line("a.per_hour", 2)], token, off)).verdict is Verdict.OK
    with pytest.raises(RateLimited):
        await budgets.admit([_line("a.per_hour", 2)], "t3", off)
    assert await _prefix_counts(conversion) == (0, 1, 0)


async def test_an_admission_arriving_after_its_give_back_does_nothing(budgets: Budgets, conversion: Conversion) -> None:
    await budgets.refund("late")
    with pytest.raises(StoreUnavailable):
        await budgets.admit([_line("a.per_hour", 3)], "late", _judge(conversion))
    assert await _used(budgets) == {}
    assert await _prefix_counts(conversion) == (0, 0, 0)
