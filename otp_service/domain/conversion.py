"""The conversion guard: hold a number prefix whose sends surge while almost none of its codes are checked.

SMS pumping sends many codes to a few number ranges the attacker is paid for, and never checks them.
Every send is counted per number prefix (``+`` country code and the first ``prefix_digits`` digits of
the national number) and per country, in bucketed sliding windows in Redis (``lua/shared/guard.lua``,
on the fraud slot with the budgets, so every replica sees the same counts and one script,
``fraud_admit``, charges a send's budgets and judges it); approvals are counted from the check path.
The rule, its numbers and the stats are explained in the README ("SMS pumping"). A held prefix is
refused ``429 limit: conversion_guard`` until its hold ends or an admin releases it.

:class:`GuardObserver` is told of every hold and release (the outbound events may publish them); the
default does nothing.
"""

from __future__ import annotations

import enum
import math
from typing import Any, Protocol

import msgspec

from .fraud_policy import ConversionGuard
from .phone import Phone
from .redis_store import RedisStore, as_text

__all__ = (
    "OK",
    "Conversion",
    "GuardObserver",
    "GuardStats",
    "GuardVerdict",
    "Hold",
    "Judgement",
    "NoObserver",
    "Verdict",
    "prefix_of",
    "verdict_of",
)

SHORT_BUCKETS = 10  # the short window in 10 buckets: a count is at most a tenth of the window stale
LONG_BUCKETS = 24  # the baseline in 24 buckets (an hour each by default)
MAX_STATS = 1000


class Verdict(enum.StrEnum):
    """What the guard answered (``guard_send`` in ``lua/shared/guard.lua``: its return strings)."""

    OK = "ok"
    HELD = "held"  # the prefix was held already
    HOLD = "hold"  # this send tripped the hold


class GuardVerdict(msgspec.Struct, frozen=True):
    verdict: Verdict
    wait_ms: int = 0
    sent: int = 0
    approved: int = 0


OK = GuardVerdict(Verdict.OK)


class Judgement(msgspec.Struct, frozen=True):
    """A send for the guard to judge in the admission script (``fraud_admit.lua``): its keys and ARGV
    in that script's order, and whether the guard is on (off, it still counts a budget's refusal)."""

    keys: list[str]
    args: list[object]
    enabled: bool


class Hold(msgspec.Struct, frozen=True, kw_only=True):
    prefix: str
    country: str
    ends_in_s: int
    sent: int = 0  # short-window sends and approvals when it was held (0 for a release)
    approved: int = 0


class GuardStats(msgspec.Struct, frozen=True, kw_only=True):
    key: str  # the prefix or the country
    sent: int
    approved: int
    refused: int
    held: int
    spend: float
    held_for_s: int


class GuardObserver(Protocol):
    """Told when a prefix is held or released (after Redis has it)."""

    async def held(self, hold: Hold) -> None: ...

    async def released(self, prefix: str, country: str) -> None: ...


class NoObserver:
    async def held(self, hold: Hold) -> None:
        return None

    async def released(self, prefix: str, country: str) -> None:
        return None


def prefix_of(phone: Phone, digits: int) -> str:
    """``+`` country code and the first ``digits`` digits of the national number (``+34600100``)."""
    return f"+{phone.msisdn.country_code}{phone.msisdn.national_number[:digits]}"


def verdict_of(res: list[Any]) -> GuardVerdict:
    """The guard's answer, from the script's reply."""
    verdict = Verdict(as_text(res[0]))
    if verdict is Verdict.HOLD:
        return GuardVerdict(verdict, int(res[1]), int(res[2]), int(res[3]))
    return GuardVerdict(verdict, int(res[1]))


def _windows(guard: ConversionGuard) -> list[int]:
    return [guard.window_seconds * 1000, guard.baseline_seconds * 1000, SHORT_BUCKETS, LONG_BUCKETS]


class Conversion:
    """The guard's Redis side; every method is one script on the ``{fraud}`` slot (a send is judged in
    the budgets' admission script, :meth:`Budgets.admit`, from the :class:`Judgement` made here)."""

    def __init__(self, store: RedisStore) -> None:
        self._store = store
        self._keys = store.keys

    def judgement(self, prefix: str, country: str, guard: ConversionGuard, *, spend: float) -> Judgement:
        k = self._keys
        keys = [
            k.guard_base("p", prefix),
            k.guard_base("c", country),
            k.guard_index("p"),
            k.guard_index("c"),
            k.guard_hold(prefix),
            k.guard_index("held"),
        ]
        args = [
            prefix,
            country,
            *_windows(guard),
            guard.min_sends,
            repr(guard.surge_factor),
            repr(guard.min_conversion),
            guard.hold_seconds * 1000,
            repr(spend),
        ]
        return Judgement(keys, args, guard.enabled)

    async def count(self, field: str, prefix: str, country: str, guard: ConversionGuard, amount: float = 1.0) -> None:
        """``a`` an approval, ``r`` a refusal; ``s`` (and ``p``) with a negative amount takes a send back."""
        k = self._keys
        keys = [k.guard_base("p", prefix), k.guard_base("c", country), k.guard_index("p"), k.guard_index("c")]
        args = [field, prefix, country, *_windows(guard), repr(amount)]
        await self._store.script(self._store.scripts.guard_count, keys, args)

    async def release(self, prefix: str, guard: ConversionGuard) -> bool:
        k = self._keys
        keys = [k.guard_hold(prefix), k.guard_base("p", prefix), k.guard_index("held")]
        return bool(await self._store.script(self._store.scripts.guard_release, keys, [prefix, *_windows(guard)]))

    async def holds(self) -> list[tuple[str, int]]:
        """``(prefix, seconds left)`` of every prefix held now."""
        res = await self._store.script(self._store.scripts.guard_holds, [self._keys.guard_index("held")], [])
        return [(as_text(res[i]), math.ceil(int(res[i + 1]) / 1000)) for i in range(0, len(res), 2)]

    async def stats(self, kind: str, window_s: int, guard: ConversionGuard) -> list[GuardStats]:
        """``kind`` ``p`` (prefixes) or ``c`` (countries) seen in the last ``window_s``, most recent first."""
        k = self._keys
        keys = [k.guard_index(kind), k.guard_index("held")]
        args = [k.guard_base(kind), window_s * 1000, *_windows(guard), MAX_STATS]
        res = await self._store.script(self._store.scripts.guard_stats, keys, args)
        return [
            GuardStats(
                key=as_text(res[i]),
                sent=int(res[i + 1]),
                approved=int(res[i + 2]),
                refused=int(res[i + 3]),
                held=int(res[i + 4]),
                spend=round(float(as_text(res[i + 5])), 6),
                held_for_s=math.ceil(int(res[i + 6]) / 1000) if kind == "p" else 0,
            )
            for i in range(0, len(res), 7)
        ]
