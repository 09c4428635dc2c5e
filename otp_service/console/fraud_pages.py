"""The fraud guard's page: conversion per country or number prefix, the send budgets' use, and the
prefixes the conversion guard holds, each with a release button (the same use cases as
``/v1/admin/stats``, ``/v1/admin/budgets``, ``/v1/admin/holds``)."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal
from urllib.parse import quote

import structlog
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import QueryParameter
from litestar.response import Redirect, Template

from ..domain.errors import NotFound
from ..domain.fraud import FraudGuard
from .views import page

__all__ = ("FraudPages",)

log = structlog.get_logger("otp.console")
_PREFIX = re.compile(r"\+[1-9][0-9]{5,11}")  # as DELETE /v1/admin/holds/{prefix} takes it
_WINDOWS = [(900, "15 minutes"), (3600, "1 hour"), (6 * 3600, "6 hours"), (86400, "1 day")]


class FraudPages(Controller):
    path = "/admin"
    include_in_schema = False

    @get("/fraud")
    async def fraud_page(
        self,
        request: Request[Any, Any, Any],
        fraud: NamedDependency[FraudGuard],
        by: Annotated[Literal["country", "prefix"], QueryParameter(name="by", required=False)] = "country",
        window: Annotated[int, QueryParameter(name="window", ge=60, le=7 * 86400, required=False)] = 3600,
    ) -> Template:
        rows = [
            {
                "key": s.key,
                "sent": s.sent,
                "approved": s.approved,
                "conversion": s.approved / s.sent if s.sent else None,
                "refused": s.refused,
                "held": s.held,
                "spend": s.spend,
                "held_for_s": s.held_for_s,
            }
            for s in await fraud.stats(by, window)
        ]
        released = request.query_params.get("released")
        return page(
            request,
            "fraud.html",
            title="Fraud guard",
            active="/admin/fraud",
            by=by,
            window=window,
            windows=_WINDOWS,
            rows=rows,
            budgets=await fraud.budget_report(),
            holds=await fraud.holds(),
            notice=f"Released {released}." if released and _PREFIX.fullmatch(released) else None,
        )

    @post("/fraud/release", status_code=303)
    async def release(
        self, request: Request[Any, Any, Any], fraud: NamedDependency[FraudGuard], admin: NamedDependency[str]
    ) -> Redirect:
        prefix = str((await request.form()).get("prefix", "")).strip()
        if not _PREFIX.fullmatch(prefix):
            return Redirect("/admin/fraud", status_code=303)
        try:
            await fraud.release(prefix)
        except NotFound:  # released meanwhile (by another admin, or its hold ended): nothing to do
            return Redirect("/admin/fraud", status_code=303)
        log.info("console.prefix_released", admin=admin, prefix=prefix)
        return Redirect(f"/admin/fraud?released={quote(prefix)}", status_code=303)
