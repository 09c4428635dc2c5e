"""Liveness and readiness probes."""

from __future__ import annotations

import asyncio

from litestar import Controller, Response, get
from litestar.di import NamedDependency, Provide

from ..domain.errors import StoreUnavailable
from ..domain.service import OtpService
from .deps import provide_otp_service

__all__ = ("HealthController",)


class HealthController(Controller):
    path = "/health"
    tags = ["operations"]
    dependencies = {"otp_service": Provide(provide_otp_service, sync_to_thread=False)}

    @get("/live", summary="200 while the process runs")
    async def live(self) -> dict[str, str]:
        """Touches nothing external: a slow Redis or vendor must never make the process look dead."""
        return {"status": "ok"}

    @get("/ready", summary="200 when Redis answers, else 503")
    async def ready(self, otp_service: NamedDependency[OtpService]) -> Response[dict[str, str]]:
        try:
            async with asyncio.timeout(1.0):
                await otp_service.store.ping()
        except (StoreUnavailable, TimeoutError):
            return Response({"status": "unavailable", "redis": "down"}, status_code=503)
        return Response({"status": "ok", "redis": "up"}, status_code=200)
