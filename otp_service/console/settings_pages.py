"""The settings pages: the global settings and each app's overrides, through the same use cases as
``PATCH /v1/admin/settings`` and ``PATCH /v1/admin/apps/{app}/settings`` (audited under the admin's name)."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template

from ..api.auth import Authenticator
from ..domain.app_settings import AppSettings
from ..domain.errors import Conflict, SettingsUnreadable, ValidationFailed
from ..domain.operations import Operations
from ..domain.policy import SettingsPatch
from .forms import WINDOWS, form_values, read_settings_form
from .views import page

__all__ = ("SettingsPages",)

_LIMITS = list(
    zip(
        WINDOWS,
        ("Sends per number", "Checks per number", "Failed checks per user", "Sends per app", "Sends per IP"),
        strict=True,
    )
)


def _field_errors(exc: ValidationFailed) -> tuple[dict[str, str], str | None]:
    """The save's errors by input name; a rule about templates or test numbers goes in the alert."""
    errors = {e["field"]: e["message"] for e in exc.errors if "field" in e and "message" in e}
    inputs = {"providers", "allowed_countries", "brand", *(n for n in errors if "." not in n)}
    shown = {name: message for name, message in errors.items() if name in inputs}
    return shown, None if shown else exc.detail


def _failure(exc: Exception) -> tuple[int, str]:
    if isinstance(exc, Conflict):
        return 409, "Another admin changed the settings at the same moment: nothing was saved, please retry."
    return 503, str(getattr(exc, "detail", exc))


class SettingsPages(Controller):
    path = "/admin"
    include_in_schema = False

    @get("/settings")
    async def settings_page(self, request: Request[Any, Any, Any], operations: NamedDependency[Operations]) -> Template:
        settings, warnings = await operations.settings()
        notice = "Saved." if request.query_params.get("saved") else None
        return self._settings(request, form_values(settings), {}, warnings, notice=notice)

    @post("/settings", status_code=200)
    async def save_settings(
        self, request: Request[Any, Any, Any], operations: NamedDependency[Operations], admin: NamedDependency[str]
    ) -> Template | Redirect:
        form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
        values, errors = read_settings_form(form, partial=False)
        _, warnings = await operations.settings()
        if errors:
            return self._settings(request, form, errors, warnings, status=422)
        try:
            await operations.update_settings(msgspec.convert(values, SettingsPatch, strict=True), admin=admin)
        except ValidationFailed as exc:
            errors, alert = _field_errors(exc)
            return self._settings(request, form, errors, warnings, status=422, alert=alert)
        except (Conflict, SettingsUnreadable) as exc:
            status, alert = _failure(exc)
            return self._settings(request, form, {}, warnings, status=status, alert=alert)
        return Redirect("/admin/settings?saved=1", status_code=303)

    @staticmethod
    def _settings(
        request: Request[Any, Any, Any],
        values: dict[str, str],
        errors: dict[str, str],
        warnings: list[str],
        *,
        status: int = 200,
        **context: Any,
    ) -> Template:
        return page(
            request,
            "settings.html",
            title="Settings",
            active="/admin/settings",
            status=status,
            values=values,
            errors=errors,
            warnings=warnings,
            limits=_LIMITS,
            countries_hint="ISO codes, comma-separated; empty: any country",
            **context,
        )

    @get("/apps")
    async def apps_page(
        self,
        request: Request[Any, Any, Any],
        auth: NamedDependency[Authenticator],
        app_settings: NamedDependency[AppSettings],
    ) -> Template:
        apps = []
        for name, keys in sorted(auth.apps().items()):
            overridden = sorted(await app_settings.overrides(name))
            api_keys = [{"name": key, "public": public} for key, public in keys]
            apps.append({"name": name, "api_keys": api_keys, "overridden": overridden})
        return page(request, "apps.html", title="Apps", active="/admin/apps", apps=apps)

    @get("/apps/{app:str}")
    async def app_page(
        self,
        request: Request[Any, Any, Any],
        app: FromPath[str],
        auth: NamedDependency[Authenticator],
        app_settings: NamedDependency[AppSettings],
        operations: NamedDependency[Operations],
    ) -> Template:
        view = await app_settings.view(auth.known_app(app))
        notice = "Saved." if request.query_params.get("saved") else None
        return await self._app(request, app, form_values(view.overridden), {}, app_settings, operations, notice=notice)

    @post("/apps/{app:str}", status_code=200)
    async def save_app(
        self,
        request: Request[Any, Any, Any],
        app: FromPath[str],
        auth: NamedDependency[Authenticator],
        app_settings: NamedDependency[AppSettings],
        operations: NamedDependency[Operations],
        admin: NamedDependency[str],
    ) -> Template | Redirect:
        name = auth.known_app(app)
        form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
        values, errors = read_settings_form(form, partial=True)
        if errors:
            return await self._app(request, name, form, errors, app_settings, operations, status=422)
        overridden = await app_settings.overrides(name)
        changes = {
            field: value
            for field, value in values.items()
            if value != overridden.get(field) and not (value is None and field not in overridden)
        }
        try:
            await app_settings.update(name, changes, admin=admin)
        except ValidationFailed as exc:
            errors, alert = _field_errors(exc)
            return await self._app(request, name, form, errors, app_settings, operations, status=422, alert=alert)
        except (Conflict, SettingsUnreadable) as exc:
            status, alert = _failure(exc)
            return await self._app(request, name, form, {}, app_settings, operations, status=status, alert=alert)
        return Redirect(f"/admin/apps/{name}?saved=1", status_code=303)

    @staticmethod
    async def _app(
        request: Request[Any, Any, Any],
        app: str,
        values: dict[str, str],
        errors: dict[str, str],
        app_settings: AppSettings,
        operations: Operations,
        *,
        status: int = 200,
        **context: Any,
    ) -> Template:
        view = await app_settings.view(app)
        settings, _ = await operations.settings()
        return page(
            request,
            "app.html",
            title=f"App {app}",
            active="/admin/apps",
            status=status,
            app=app,
            values=values,
            errors=errors,
            warnings=view.warnings,
            overridden=sorted(view.overridden),
            placeholders=form_values(settings),
            limits=_LIMITS,
            countries_hint="ISO codes, comma-separated; empty: the global list",
            **context,
        )
