"""The fraud guard of a send, in the order a send meets it: the number's type and prefix, then every
budget, then the conversion guard. Test numbers never reach it (``sending.py``): they cost no SMS.
The budgets and the guard share one Redis slot, so a send is admitted by one script
(:meth:`Budgets.admit`): a round trip saved on every send, and a guard's refusal never charged.

What a send was charged is given back when it delivers nothing (the budgets; the guard keeps counting
the attempt). Approvals are reported by the check path (:meth:`FraudGuard.approved`). The admin
routes read the budgets' use, the guard's stats and holds, and release a prefix through here.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Awaitable, Callable

import msgspec
import phonenumbers
import structlog

from ..metrics import (
    APPROVALS_BY_COUNTRY,
    NUMBERS_REFUSED,
    PREFIX_HOLDS,
    PREFIX_RELEASES,
    PREFIXES_HELD,
    RATE_LIMITED,
    SENDS_BY_COUNTRY,
)
from .budgets import Budgets, BudgetUse, budget_lines, price_of
from .conversion import Conversion, GuardObserver, GuardStats, Hold, NoObserver, Verdict, prefix_of
from .errors import NotFound, NumberNotAllowed, RateLimited, StoreUnavailable
from .fraud_policy import ConversionGuard
from .number_rules import check_number
from .phone import Phone, parse_phone
from .policy import LiveSettings
from .releases import Releases

__all__ = ("Admission", "BudgetReport", "FraudGuard", "country_label")

log = structlog.get_logger("otp.fraud")
_REGIONS = frozenset(phonenumbers.SUPPORTED_REGIONS)


def country_label(region: str) -> str:
    """The ``country`` of a metric or a stat: an ISO code phonenumbers knows, else ``other``."""
    return region if region in _REGIONS else "other"


class Admission(msgspec.Struct, frozen=True):
    token: str  # the budgets' charge
    prefix: str = ""  # counted as a send by the conversion guard (none when it is off)
    country: str = ""
    spend: float = 0.0
    guard: ConversionGuard | None = None


class BudgetReport(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    app: str | None
    used: float
    limit: float | None
    window: str
    resets_in_s: int


class FraudGuard:
    def __init__(
        self,
        budgets: Budgets,
        conversion: Conversion,
        *,
        shared: Callable[[], Awaitable[LiveSettings]],
        settings_for: Callable[[str], Awaitable[LiveSettings]],
        releases: Releases,
        observer: GuardObserver | None = None,
    ) -> None:
        self.budgets = budgets
        self.conversion = conversion
        self._shared = shared  # the global settings: shared budgets and the guard's thresholds
        self._settings_for = settings_for  # an app's effective settings
        self.releases = releases
        self.observer: GuardObserver = observer or NoObserver()

    async def screen(self, phone: Phone, live: LiveSettings) -> None:
        """:class:`NumberNotAllowed` for a number of a refused type or prefix (counted as refused)."""
        try:
            check_number(phone, live.allowed_number_types, live.blocked_prefixes)
        except NumberNotAllowed as exc:
            country = country_label(phone.region)
            NUMBERS_REFUSED.labels(country, exc.reason).inc()
            await self._refused(phone, country)
            raise

    async def charge(self, phone: Phone, app: str, own: LiveSettings) -> Admission:
        """Charge every budget, without asking the conversion guard: a second message of a verification
        already admitted (the SMS after an undelivered WhatsApp code) costs money, but is no new send to
        judge. ``RateLimited`` if a budget is spent; ``give_back`` when nothing was delivered."""
        return await self._charge(await self._shared(), phone, app, own, country_label(phone.region))

    async def admit(self, phone: Phone, app: str, own: LiveSettings) -> Admission:
        """Charge every budget and ask the conversion guard, in one script; 429 (``RateLimited``) if
        either refuses (a send the guard refuses is charged nothing)."""
        shared = await self._shared()
        country = country_label(phone.region)
        guard = shared.conversion_guard
        prefix = prefix_of(phone, guard.prefix_digits)
        spend = price_of(shared, country)
        token = uuid.uuid4().hex
        lines = budget_lines(shared, own, app=app, country=country)
        judgement = self.conversion.judgement(prefix, country, guard, spend=spend)
        try:
            verdict = await self.budgets.admit(lines, token, judgement)
        except RateLimited:  # a budget is spent; the script counted the refusal for the guard
            raise
        except BaseException:  # no answer: the charge may still land when Redis wakes up
            self.releases.later("budget", lambda: self.budgets.refund(token))
            raise
        if verdict.verdict is not Verdict.OK:
            if verdict.verdict is Verdict.HOLD:
                await self._held(
                    Hold(
                        prefix=prefix,
                        country=country,
                        ends_in_s=verdict.wait_ms // 1000,
                        sent=verdict.sent,
                        approved=verdict.approved,
                    )
                )
            RATE_LIMITED.labels("conversion_guard").inc()
            raise RateLimited(
                "Codes to this number range are paused for a while; try again later.",
                limit="conversion_guard",
                retry_after_s=-(-verdict.wait_ms // 1000),
            )
        SENDS_BY_COUNTRY.labels(country).inc()
        if not guard.enabled:
            return Admission(token)
        return Admission(token, prefix, country, spend, guard)

    async def _charge(self, shared: LiveSettings, phone: Phone, app: str, own: LiveSettings, country: str) -> Admission:
        token = uuid.uuid4().hex
        try:
            await self.budgets.charge(budget_lines(shared, own, app=app, country=country), token)
        except RateLimited:
            await self._refused(phone, country)
            raise
        except BaseException:  # no answer: the charge may still land when Redis wakes up
            self.releases.later("budget", lambda: self.budgets.refund(token))
            raise
        return Admission(token)

    async def give_back(self, admission: Admission, *, store_down: bool = False) -> None:
        """Nothing was delivered: the budgets' charge back, and the guard's send uncounted (best effort,
        once: a provider outage must not read as a range whose codes nobody checks)."""
        await self.releases.give_back("budget", lambda: self.budgets.refund(admission.token), store_down=store_down)
        a = admission
        if a.guard is None or store_down:
            return
        try:
            await self.conversion.count("s", a.prefix, a.country, a.guard, -1.0)
            if a.spend > 0:
                await self.conversion.count("p", a.prefix, a.country, a.guard, -a.spend)
        except StoreUnavailable:
            log.warning("guard.send_not_uncounted", country=a.country)

    async def approved(self, e164: str) -> None:
        """A code to ``e164`` was approved. Best effort: a check never fails for the guard's counts."""
        phone = parse_phone(e164)
        country = country_label(phone.region)
        APPROVALS_BY_COUNTRY.labels(country).inc()
        try:
            guard = (await self._shared()).conversion_guard
            await self.conversion.count("a", prefix_of(phone, guard.prefix_digits), country, guard)
        except StoreUnavailable:
            log.warning("guard.approval_not_counted", country=country)

    async def _refused(self, phone: Phone, country: str) -> None:
        try:
            guard = (await self._shared()).conversion_guard
            await self.conversion.count("r", prefix_of(phone, guard.prefix_digits), country, guard)
        except StoreUnavailable:
            log.warning("guard.refusal_not_counted", country=country)

    async def _held(self, hold: Hold) -> None:
        PREFIX_HOLDS.labels(hold.country).inc()
        # ``to`` (the masked number, bound for the request) and the prefix together would spell it.
        log.warning(
            "guard.prefix_held",
            prefix=hold.prefix,
            country=hold.country,
            hold_s=hold.ends_in_s,
            sent=hold.sent,
            approved=hold.approved,
            to=None,
        )
        await self._notify(self.observer.held(hold))

    async def _notify(self, call: Awaitable[None]) -> None:
        try:
            await call
        except Exception:  # an observer's failure must not fail a send or a release
            log.exception("guard.observer_failed")
        with contextlib.suppress(StoreUnavailable):
            PREFIXES_HELD.set(len(await self.conversion.holds()))

    # -- admin ----------------------------------------------------------------------------------
    async def release(self, prefix: str) -> None:
        """:class:`NotFound` when the prefix is not held."""
        guard = (await self._shared()).conversion_guard
        if not await self.conversion.release(prefix, guard):
            raise NotFound("This prefix is not held.")
        country = _prefix_country(prefix)
        PREFIX_RELEASES.labels(country).inc()
        log.info("guard.prefix_released", prefix=prefix, country=country)
        await self._notify(self.observer.released(prefix, country))

    async def holds(self) -> list[tuple[str, int]]:
        holds = await self.conversion.holds()
        PREFIXES_HELD.set(len(holds))
        return holds

    async def stats(self, by: str, window_s: int) -> list[GuardStats]:
        guard = (await self._shared()).conversion_guard
        return await self.conversion.stats("p" if by == "prefix" else "c", window_s, guard)

    async def budget_report(self) -> list[BudgetReport]:
        reports = []
        for use in await self.budgets.usage():
            live = await (self._settings_for(use.app) if use.app is not None else self._shared())
            reports.append(
                BudgetReport(
                    name=use.name,
                    app=use.app,
                    used=use.used,
                    limit=_limit(live, use),
                    window=use.window,
                    resets_in_s=use.resets_in_s,
                )
            )
        return reports


def _limit(live: LiveSettings, use: BudgetUse) -> float | None:
    """The bound the budget has now (``None`` once the setting no longer names it)."""
    parts = use.name.split(".")
    setting, field = parts[0], parts[-1]
    value = getattr(live, setting, None)
    if isinstance(value, dict):
        value = value.get(parts[1], value.get("default"))
    bound = getattr(value, field, None) if value is not None else None
    return float(bound) if isinstance(bound, int | float) else None


def _prefix_country(prefix: str) -> str:
    try:
        number = phonenumbers.parse(prefix + "0" * 8, None)
    except phonenumbers.NumberParseException:
        return "other"
    return country_label(phonenumbers.region_code_for_country_code(number.country_code or 0))
