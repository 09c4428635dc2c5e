"""The admin console: server-rendered pages under ``/admin`` (Jinja templates, htmx for the live
parts, no JavaScript build), served by the same process as the API and only when admins are
configured (``OTP_ADMIN_TOKENS`` or ``OTP_ADMIN_TOKEN``).

Routes call the same domain use cases as the admin API and never touch Redis. What protects the
pages (session cookie, CSRF, Content-Security-Policy, sign-in throttling) is described in
:mod:`.security`, :mod:`.access` and :mod:`otp_service.domain.signin_limit`.

``static/htmx.min.js`` is htmx 2.0.11 as published in the npm package ``htmx.org`` (``dist/``,
Zero-Clause BSD licence), unchanged; to upgrade, replace the file.
"""

from __future__ import annotations

from pathlib import Path

from litestar import Router
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template import TemplateConfig
from litestar.types import ControllerRouterHandler

from ..api.auth import Authenticator
from .access import SessionGuard, SignInRequired, console_dependencies, sign_in_required
from .events_pages import EventsPages
from .fraud_pages import FraudPages
from .security import SecurityHeaders, csrf_middleware
from .settings_pages import SettingsPages
from .signin import SignInController
from .status_pages import StatusPages
from .template_pages import TemplatePages

__all__ = ("SecurityHeaders", "console_handlers", "console_templates")

_HERE = Path(__file__).parent


def console_handlers(auth: Authenticator, pepper: bytes) -> list[ControllerRouterHandler]:
    """The console's routes, or none when no admin is configured (then ``/admin`` is a 404 like any)."""
    if not auth.admin_enabled:
        return []
    pages = Router(
        path="/",
        route_handlers=[SignInController, SettingsPages, TemplatePages, StatusPages, FraudPages, EventsPages],
        guards=[SessionGuard(auth)],
        middleware=[csrf_middleware(pepper)],
        dependencies=console_dependencies(),
        exception_handlers={SignInRequired: sign_in_required},
        include_in_schema=False,
    )
    static = create_static_files_router(
        path="/admin/static",
        directories=[_HERE / "static"],
        include_in_schema=False,
        name="console_static",
    )
    return [pages, static]


def console_templates(auth: Authenticator) -> TemplateConfig[JinjaTemplateEngine] | None:
    if not auth.admin_enabled:
        return None
    return TemplateConfig(directory=_HERE / "templates", engine=JinjaTemplateEngine)
