"""Liveness and readiness probes."""

from __future__ import annotations

from litestar import Controller, Response, get
from litestar.di import NamedDependency

from ..domain.operations import Operations

__all__ = ("HealthController",)


class HealthController(Controller):
    path = "/health"
    tags = ["operations"]

    @get("/live", summary="200 while the process runs")
    async def live(self) -> dict[str, str]:
        """Touches nothing external: a slow Redis or vendor must never make the process look dead."""
        return {"status": "ok"}

    @get("/ready", summary="200 when Redis answers, else 503")
    async def ready(self, operations: NamedDependency[Operations]) -> Response[dict[str, str]]:
        if not await operations.ready():
            return Response({"status": "unavailable", "redis": "down"}, status_code=503)
        return Response({"status": "ok", "redis": "up"}, status_code=200)
