"""Admin routes for apps: the apps behind the API keys and each app's own settings."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, patch
from litestar.di import NamedDependency
from litestar.openapi.spec import Example
from litestar.params import Body, FromPath

from ..domain.app_settings import AppSettings, AppSettingsView
from ..domain.policy import LiveSettings, SettingsPatch
from .admin import decode_strictly
from .auth import Access, Authenticator
from .openapi import ApiOperation
from .problems import ProblemCode as P
from .problems import problem_responses

__all__ = ("AppsController",)


_OVERRIDES = Body(
    description="Any subset of the settings fields (as in PATCH /v1/admin/settings); null removes an override.",
    examples=[Example(summary="A bank app", value={"code_length": 8, "ttl_seconds": 300})],
)


class AppKeyOut(msgspec.Struct, kw_only=True):
    name: str
    public: bool


class AppOut(msgspec.Struct, kw_only=True):
    app: str
    keys: list[AppKeyOut]


class AppSettingsOut(msgspec.Struct, kw_only=True):
    app: str
    effective: LiveSettings
    overridden: dict[str, Any]
    warnings: list[str]


def _out(view: AppSettingsView) -> AppSettingsOut:
    return AppSettingsOut(app=view.app, effective=view.effective, overridden=view.overridden, warnings=view.warnings)


class AppsController(Controller):
    path = "/v1/admin/apps"
    tags = ["admin"]
    opt = {"access": Access.ADMIN}
    security = [{"bearer": []}]

    @get(
        "/",
        operation_id="listApps",
        operation_class=ApiOperation,
        summary="The apps of OTP_API_KEYS with their key names (never a secret)",
        responses=problem_responses(P.UNAUTHORIZED, P.FORBIDDEN, P.NOT_FOUND),
    )
    async def list_apps(self, auth: NamedDependency[Authenticator]) -> list[AppOut]:
        return [
            AppOut(app=app, keys=[AppKeyOut(name=name, public=public) for name, public in keys])
            for app, keys in sorted(auth.apps().items())
        ]

    @get(
        "/{app:str}/settings",
        operation_id="getAppSettings",
        operation_class=ApiOperation,
        summary="An app's effective settings (the global ones with its overrides on top) and its overrides",
        responses=problem_responses(P.VALIDATION_ERROR, P.UNAUTHORIZED, P.FORBIDDEN, P.NOT_FOUND, P.STORE_UNAVAILABLE),
    )
    async def read_app_settings(
        self, app: FromPath[str], auth: NamedDependency[Authenticator], app_settings: NamedDependency[AppSettings]
    ) -> AppSettingsOut:
        return _out(await app_settings.view(auth.known_app(app)))

    @patch(
        "/{app:str}/settings",
        operation_id="updateAppSettings",
        operation_class=ApiOperation,
        summary="Override any subset of the settings for one app; null removes an override (all or nothing)",
        responses=problem_responses(
            P.VALIDATION_ERROR,
            P.UNAUTHORIZED,
            P.FORBIDDEN,
            P.NOT_FOUND,
            P.CONFLICT,
            P.STORE_UNAVAILABLE,
            P.SETTINGS_UNREADABLE,
            body=True,
        ),
    )
    async def update_app_settings(
        self,
        app: FromPath[str],
        request: Request[Any, Any, Any],
        data: Annotated[dict[str, Any], _OVERRIDES],  # for the OpenAPI document and the first, lenient check
        auth: NamedDependency[Authenticator],
        app_settings: NamedDependency[AppSettings],
        client: NamedDependency[str],
    ) -> AppSettingsOut:
        name = auth.known_app(app)
        changes = decode_strictly(await request.body(), dict[str, Any])
        # Strict like PATCH /v1/admin/settings: "8" or 6.0 is no integer (null removes an override).
        decode_strictly(msgspec.json.encode({k: v for k, v in changes.items() if v is not None}), SettingsPatch)
        return _out(await app_settings.update(name, changes, admin=client))
