"""Send budgets: SMS (and money) per UTC hour and day, globally, per country, per app and per app and
country, charged all at once by one script and given back by token. A new send is charged by the same
script that has the conversion guard judge it (``lua/fraud_admit.lua``, :meth:`Budgets.admit`): one
round trip admits it; a second message of a send admitted already is charged alone
(``lua/budget_charge.lua``). Both are made of ``lua/shared/budget.lua``.

Each budget is named for the setting it comes from (``sms_budget.per_hour``,
``country_limits.GB.per_day``, ``app_sms_budget.spend_per_day``, ...): the name is what a 429's
``limit`` says and what ``GET /v1/admin/budgets`` lists. Windows are fixed UTC hours and days taken
from Redis' clock, so replicas always count in the same window and a spent budget's ``Retry-After`` is
the time to the window's end. Countries not listed in ``country_limits`` each get their own counter
with the ``default`` entry's bounds. Money budgets charge the country's price (``prices``, else the
``default`` price); a send with no price costs nothing against them.

A charge that is given back (the send failed, or the conversion guard refused it: then inside the
admission script) is removed from the window it was charged in, before or after the charge lands
(``redis_store``'s token rule).
"""

from __future__ import annotations

import math

import msgspec

from ..metrics import BUDGET_SPENT, RATE_LIMITED
from .conversion import OK, GuardVerdict, Judgement, verdict_of
from .errors import RateLimited, StoreUnavailable
from .fraud_policy import Budget
from .policy import LiveSettings
from .redis_store import TOKEN_TTL_MS, Keys, RedisStore, as_text

__all__ = ("BudgetLine", "BudgetUse", "Budgets", "budget_lines")

_WINDOWS = {"per_hour": 3_600_000, "per_day": 86_400_000, "spend_per_hour": 3_600_000, "spend_per_day": 86_400_000}
_MONEY = frozenset({"spend_per_hour", "spend_per_day"})


class BudgetLine(msgspec.Struct, frozen=True):
    name: str  # the setting's path, the 429's ``limit``
    key: str  # the counter's name (the app's ones carry the app)
    metric: str  # the name without the country (a bounded label)
    country: str
    limit: float
    amount: float
    window_ms: int


class BudgetUse(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    app: str | None
    used: float
    window: str  # hour | day
    resets_in_s: int


def _lines(setting: str, budget: Budget | None, country: str, app: str, price: float) -> list[BudgetLine]:
    if budget is None:
        return []
    lines = []
    for field, window_ms in _WINDOWS.items():
        limit = getattr(budget, field)
        if limit is None:
            continue
        amount = price if field in _MONEY else 1.0
        if amount <= 0:
            continue
        name = f"{setting}.{country}.{field}" if country else f"{setting}.{field}"
        key = f"app:{app}:{name}" if app else name
        lines.append(BudgetLine(name, key, f"{setting}.{field}", country, float(limit), amount, window_ms))
    return lines


def _country(limits: dict[str, Budget], country: str) -> Budget | None:
    return limits.get(country, limits.get("default"))


def price_of(live: LiveSettings, country: str) -> float:
    return live.prices.get(country, live.prices.get("default", 0.0))


def budget_lines(shared: LiveSettings, own: LiveSettings, *, app: str, country: str) -> list[BudgetLine]:
    """Every budget a send to ``country`` by ``app`` is charged to: the shared ones from the global
    settings, the app's own from its effective settings (so an app override cannot lift a shared one)."""
    price = price_of(shared, country)
    return [
        *_lines("sms_budget", shared.sms_budget, "", "", price),
        *_lines("country_limits", _country(shared.country_limits, country), country, "", price),
        *_lines("app_sms_budget", own.app_sms_budget, "", app, price),
        *_lines("app_country_limits", _country(own.app_country_limits, country), country, app, price),
    ]


def _charge_parts(keys: Keys, lines: list[BudgetLine]) -> tuple[list[str], list[object]]:
    """The budgets' counters (the scripts' last keys) and their limit, amount and window (last ARGV)."""
    args: list[object] = []
    for line in lines:
        args += [repr(line.limit), repr(line.amount), line.window_ms]
    return [keys.budget(line.key) for line in lines], args


def _spent(line: BudgetLine, wait_ms: int) -> RateLimited:
    RATE_LIMITED.labels(line.metric).inc()
    BUDGET_SPENT.labels(line.metric, line.country or "all").inc()
    return RateLimited("This send budget is used up for now.", limit=line.name, retry_after_s=math.ceil(wait_ms / 1000))


class Budgets:
    def __init__(self, store: RedisStore) -> None:
        self._store = store
        self._keys = store.keys

    async def charge(self, lines: list[BudgetLine], token: str) -> None:
        """All of ``lines`` or none; :class:`RateLimited` names the first budget that is spent."""
        if not lines:
            return
        k = self._keys
        counters, limits = _charge_parts(k, lines)
        res = await self._store.script(
            self._store.scripts.budget_charge,
            [k.budget_token(token), k.budget_index, *counters],
            [TOKEN_TTL_MS, *limits],
        )
        index = int(res[0])
        if index < 0:
            raise StoreUnavailable("This send was given up already.")
        if index > 0:
            raise _spent(lines[index - 1], int(res[1]))

    async def admit(self, lines: list[BudgetLine], token: str, judgement: Judgement) -> GuardVerdict:
        """Charge all of ``lines`` or none, and then have the guard judge the send: one script. A spent
        budget raises :class:`RateLimited` (the guard counts the refusal); a send the guard refuses is
        charged nothing, and its verdict returned."""
        if not lines and not judgement.enabled:
            return OK
        k = self._keys
        counters, limits = _charge_parts(k, lines)
        keys = [k.budget_token(token), k.budget_index, *judgement.keys, *counters]
        args = [TOKEN_TTL_MS, int(judgement.enabled), *judgement.args, *limits]
        res = await self._store.script(self._store.scripts.fraud_admit, keys, args)
        answer = as_text(res[0])
        if answer == "gone":
            raise StoreUnavailable("This send was given up already.")
        if answer == "budget":
            raise _spent(lines[int(res[1]) - 1], int(res[2]))
        return verdict_of(res)

    async def refund(self, token: str) -> None:
        await self._store.script(self._store.scripts.budget_refund, [self._keys.budget_token(token)], [TOKEN_TTL_MS])

    async def usage(self) -> list[BudgetUse]:
        """What each budget charged in the last two days has used in its current window."""
        res = await self._store.script(self._store.scripts.budget_usage, [self._keys.budget_index], [])
        now = int(res[0])
        base = self._keys.budget("")
        uses = []
        for i in range(1, len(res), 3):
            key, field, used = as_text(res[i])[len(base) :], as_text(res[i + 1]), float(as_text(res[i + 2]))
            app = None
            if key.startswith("app:"):
                app, key = key[4:].split(":", 1)
            window_ms = _WINDOWS[key.rsplit(".", 1)[-1]]
            current = now // window_ms
            if not field or int(field) != current:
                used = 0.0
            uses.append(
                BudgetUse(
                    name=key,
                    app=app,
                    used=round(used, 6),
                    window="hour" if window_ms == 3_600_000 else "day",
                    resets_in_s=math.ceil(((current + 1) * window_ms - now) / 1000),
                )
            )
        return sorted(uses, key=lambda u: (u.app or "", u.name))
