"""Admin routes of the fraud guard: stats per country or prefix, the budgets' use, held prefixes."""

from __future__ import annotations

import enum
from typing import Annotated

import msgspec
from litestar import Controller, delete, get
from litestar.di import NamedDependency
from litestar.params import PathParameter, QueryParameter

from ..domain.fraud import FraudGuard
from ..domain.patterns import whole
from .auth import Access
from .openapi import ApiOperation
from .problems import ProblemCode as P
from .problems import problem_responses

__all__ = ("FraudAdminController",)


class StatsBy(enum.StrEnum):
    COUNTRY = "country"
    PREFIX = "prefix"


class StatsRowOut(msgspec.Struct, kw_only=True):
    key: str  # the ISO country code ("other" outside phonenumbers' regions) or the number prefix
    sent: int
    approved: int
    conversion: float | None  # approved / sent; null before any send
    refused: int  # refused for the number's type or prefix, a budget, or the conversion guard
    held: int  # sends refused because the prefix was held
    spend: float  # sent x the country's price
    held_for_seconds: int  # prefixes: how long the hold still lasts (0: not held)


class StatsOut(msgspec.Struct, kw_only=True):
    by: StatsBy
    window_seconds: int
    rows: list[StatsRowOut]


class BudgetOut(msgspec.Struct, kw_only=True):
    name: str  # the setting's path: what a 429's `limit` names
    app: str | None
    used: float
    limit: float | None
    window: str  # hour | day (UTC)
    resets_in_seconds: int


class HoldOut(msgspec.Struct, kw_only=True):
    prefix: str
    ends_in_seconds: int


class ReleasedOut(msgspec.Struct, kw_only=True):
    prefix: str
    released: bool


_ADMIN = (P.UNAUTHORIZED, P.FORBIDDEN, P.NOT_FOUND, P.STORE_UNAVAILABLE)


class FraudAdminController(Controller):
    path = "/v1/admin"
    tags = ["admin"]
    opt = {"access": Access.ADMIN}
    security = [{"bearer": []}]

    @get(
        "/stats",
        operation_id="getSendStats",
        operation_class=ApiOperation,
        summary="Sends, approvals, conversion, refusals, holds and spend per country or number prefix",
        responses=problem_responses(P.VALIDATION_ERROR, *_ADMIN),
    )
    async def stats(
        self,
        fraud: NamedDependency[FraudGuard],
        by: Annotated[StatsBy, QueryParameter(name="by", required=False)] = StatsBy.COUNTRY,
        window: Annotated[
            int,
            QueryParameter(
                name="window",
                ge=60,
                le=7 * 86400,
                required=False,
                description="Seconds; counted in the conversion guard's buckets, and at most its baseline.",
            ),
        ] = 3600,
    ) -> StatsOut:
        rows = [
            StatsRowOut(
                key=s.key,
                sent=s.sent,
                approved=s.approved,
                conversion=round(s.approved / s.sent, 4) if s.sent else None,
                refused=s.refused,
                held=s.held,
                spend=s.spend,
                held_for_seconds=s.held_for_s,
            )
            for s in await fraud.stats(by.value, window)
        ]
        return StatsOut(by=by, window_seconds=window, rows=rows)

    @get(
        "/budgets",
        operation_id="getBudgets",
        operation_class=ApiOperation,
        summary="What each send budget has used in its current UTC hour or day",
        responses=problem_responses(*_ADMIN),
    )
    async def budgets(self, fraud: NamedDependency[FraudGuard]) -> list[BudgetOut]:
        return [
            BudgetOut(
                name=b.name, app=b.app, used=b.used, limit=b.limit, window=b.window, resets_in_seconds=b.resets_in_s
            )
            for b in await fraud.budget_report()
        ]

    @get(
        "/holds",
        operation_id="getHeldPrefixes",
        operation_class=ApiOperation,
        summary="Number prefixes the conversion guard holds now",
        responses=problem_responses(*_ADMIN),
    )
    async def holds(self, fraud: NamedDependency[FraudGuard]) -> list[HoldOut]:
        return [HoldOut(prefix=p, ends_in_seconds=s) for p, s in await fraud.holds()]

    @delete(
        "/holds/{prefix:str}",
        status_code=200,
        operation_id="releasePrefix",
        operation_class=ApiOperation,
        summary="Release a held number prefix (its short-window counts start again)",
        responses=problem_responses(P.VALIDATION_ERROR, *_ADMIN),
    )
    async def release(
        self,
        fraud: NamedDependency[FraudGuard],
        prefix: Annotated[str, PathParameter(pattern=whole(r"\+[1-9][0-9]{5,11}"), description="E.g. `+34600100`.")],
    ) -> ReleasedOut:
        await fraud.release(prefix)
        return ReleasedOut(prefix=prefix, released=True)
