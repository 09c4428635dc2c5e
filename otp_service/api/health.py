"""Liveness and readiness probes."""

from __future__ import annotations

from typing import Literal

import msgspec
from litestar import Controller, Response, get
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec

from ..domain.live import DocumentState
from ..domain.operations import Operations
from .openapi import ApiOperation

__all__ = ("HealthController",)


class Liveness(msgspec.Struct, kw_only=True):
    status: Literal["ok"]


class Readiness(msgspec.Struct, kw_only=True, omit_defaults=True):
    status: Literal["ok", "degraded", "unavailable"]
    redis: Literal["up", "down"]
    settings: DocumentState | None = None


class HealthController(Controller):
    path = "/health"
    tags = ["operations"]

    @get("/live", operation_id="live", operation_class=ApiOperation, summary="200 while the process runs")
    async def live(self) -> Liveness:
        """Touches nothing external: a slow Redis or vendor must never make the process look dead."""
        return Liveness(status="ok")

    @get(
        "/ready",
        operation_id="ready",
        operation_class=ApiOperation,
        summary="200 when Redis answers, else 503",
        responses={503: ResponseSpec(data_container=Readiness, description="Redis does not answer within 1 s.")},
    )
    async def ready(self, operations: NamedDependency[Operations]) -> Response[Readiness]:
        state = await operations.ready()
        if state is None:
            return Response(Readiness(status="unavailable", redis="down"), status_code=503)
        # An unreadable settings document is shared by every replica, and each keeps serving its last
        # good settings: still ready (503 would take them all out at once), but degraded, and said.
        status: Literal["ok", "degraded"] = "ok" if state is DocumentState.OK else "degraded"
        return Response(Readiness(status=status, redis="up", settings=state), status_code=200)
