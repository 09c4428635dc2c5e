"""The read-only pages: provider health and the audit log (filterable, values made safe to show)."""

from __future__ import annotations

import time
from typing import Annotated, Any

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter
from litestar.response import Template

from ..api.auth import Authenticator
from ..domain.app_settings import AppSettings
from ..domain.operations import Operations
from ..domain.provider_health import ProviderHealth
from .views import page, shown

__all__ = ("StatusPages",)

_STARTED = time.monotonic()
_SCAN = 1000  # the newest entries the filters look through


def _uptime() -> str:
    seconds = int(time.monotonic() - _STARTED)
    hours, rest = divmod(seconds, 3600)
    return f"{hours} h {rest // 60} min" if hours else f"{rest // 60} min {rest % 60} s"


def _app_of(field: str) -> str | None:
    return field.split(".", 2)[1] if field.startswith("apps.") and field.count(".") >= 2 else None


class StatusPages(Controller):
    path = "/admin"
    include_in_schema = False

    @get("/providers")
    async def providers_page(
        self,
        request: Request[Any, Any, Any],
        operations: NamedDependency[Operations],
        provider_health: NamedDependency[ProviderHealth],
        auth: NamedDependency[Authenticator],
        app_settings: NamedDependency[AppSettings],
    ) -> Template:
        settings, _ = await operations.settings()
        app_orders = []
        for app in sorted(auth.apps()):
            overrides = await app_settings.overrides(app)
            if overrides.get("providers"):
                app_orders.append((app, overrides["providers"]))
        return page(
            request,
            "providers.html",
            title="Providers",
            active="/admin/providers",
            order=settings.providers,
            reports=provider_health.report(settings.providers),
            app_orders=app_orders,
            # Prefixes first, longest first (the order a number is matched in), then countries.
            routes=sorted(settings.routes.items(), key=lambda item: (not item[0].startswith("+"), -len(item[0]))),
            uptime=_uptime(),
        )

    @get("/audit")
    async def audit_page(
        self,
        request: Request[Any, Any, Any],
        operations: NamedDependency[Operations],
        auth: NamedDependency[Authenticator],
        admin_filter: Annotated[str, QueryParameter(name="admin", required=False, max_length=64)] = "",
        field_filter: Annotated[str, QueryParameter(name="field", required=False, max_length=100)] = "",
        app_filter: Annotated[str, QueryParameter(name="app", required=False, max_length=64)] = "",
    ) -> Template:
        entries = await operations.audit(_SCAN)
        names = sorted({e.admin for e in entries} | auth.admin_names())
        rows = [
            {
                "time": e.time,
                "admin": e.admin,
                "field": e.field,
                "old": shown(e.field, e.old),
                "new": shown(e.field, e.new),
            }
            for e in entries
            if (not admin_filter or e.admin == admin_filter)
            and (not field_filter or field_filter.lower() in e.field.lower())
            and (not app_filter or (_app_of(e.field) is None if app_filter == "-" else _app_of(e.field) == app_filter))
        ]
        return page(
            request,
            "audit.html",
            title="Audit log",
            active="/admin/audit",
            entries=rows,
            scanned=len(entries),
            admins=names,
            apps=sorted(auth.apps()),
            filters={"admin": admin_filter, "field": field_filter, "app": app_filter},
        )
