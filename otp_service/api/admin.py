"""Admin routes: the live settings and their audit log."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, patch, put
from litestar.di import NamedDependency, Provide
from litestar.params import JSONBody, QueryParameter

from ..domain.policy import SettingsPatch
from ..domain.service import OtpService
from .auth import admin_guard
from .deps import provide_otp_service
from .schemas import AuditEntryOut, SettingsOut, problem_responses

__all__ = ("AdminController",)


def _out(settings: Any, warnings: list[str]) -> SettingsOut:
    return SettingsOut(**msgspec.structs.asdict(settings), warnings=warnings)


class AdminController(Controller):
    path = "/v1/admin"
    tags = ["admin"]
    guards = [admin_guard]
    dependencies = {"otp_service": Provide(provide_otp_service, sync_to_thread=False)}
    security = [{"bearer": []}]

    @get("/settings", summary="Read the live settings", responses=problem_responses(401, 403, 404, 503))
    async def read_settings(self, otp_service: NamedDependency[OtpService]) -> SettingsOut:
        settings = await otp_service.live.get()
        return _out(settings, otp_service.live.warnings(settings))

    @patch(
        "/settings",
        summary="Change any subset of the live settings (all or nothing)",
        responses=problem_responses(400, 401, 403, 404, 409, 413, 503),
        description="503 settings_unreadable while the document in Redis cannot be read: replace it with PUT.",
    )
    async def update_settings(
        self, request: Request[Any, Any, Any], data: JSONBody[SettingsPatch], otp_service: NamedDependency[OtpService]
    ) -> SettingsOut:
        settings, warnings = await otp_service.live.update(data, admin=request.state.client)
        return _out(settings, warnings)

    @put(
        "/settings",
        summary="Replace the live settings document: the given fields set, every other one from the baseline",
        description="Works whatever the stored document holds: the repair for 503 settings_unreadable.",
        responses=problem_responses(400, 401, 403, 404, 409, 413, 503),
    )
    async def replace_settings(
        self, request: Request[Any, Any, Any], data: JSONBody[SettingsPatch], otp_service: NamedDependency[OtpService]
    ) -> SettingsOut:
        settings, warnings = await otp_service.live.replace(data, admin=request.state.client)
        return _out(settings, warnings)

    @get("/audit", summary="Settings changes, newest first", responses=problem_responses(400, 401, 403, 404, 503))
    async def audit(
        self,
        otp_service: NamedDependency[OtpService],
        limit: Annotated[int, QueryParameter(name="limit", ge=1, le=1000, required=False)] = 100,
    ) -> list[AuditEntryOut]:
        entries = await otp_service.live.audit(limit)
        return [AuditEntryOut(time=e.time, admin=e.admin, field=e.field, old=e.old, new=e.new) for e in entries]
