"""Who is signed in to the console: the session guard and the console's own dependencies.

Every console route but the sign-in page needs a live session (``admin_sessions.py``) whose admin is
still configured; without one, a page load is sent to the sign-in page and an htmx request is told
to go there (``HX-Redirect``). Routes name what they need as parameters, like the API's routes; the
domain objects come from the app's state, built in the lifespan.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response
from litestar.connection import ASGIConnection
from litestar.di import Provide
from litestar.exceptions import NotAuthorizedException
from litestar.handlers.base import BaseRouteHandler
from litestar.response import Redirect

from ..api.auth import Authenticator
from ..api.deps import from_state
from ..domain.admin_sessions import AdminSessions
from ..domain.provider_health import ProviderHealth
from ..domain.signin_limit import SignInLimit
from ..domain.template_preview import TemplatePreview
from .security import SESSION_COOKIE, session_cookie

__all__ = ("PUBLIC", "SessionGuard", "SignInRequired", "console_dependencies", "sign_in_required")

PUBLIC = "console_public"  # a route's opt key: reachable without a session (the sign-in page)


class SignInRequired(NotAuthorizedException):
    pass


class SessionGuard:
    def __init__(self, auth: Authenticator) -> None:
        self._auth = auth

    async def __call__(self, connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
        if handler.opt.get(PUBLIC):
            return
        sessions: AdminSessions = connection.app.state.admin_sessions
        admin = await sessions.admin_of(connection.cookies.get(SESSION_COOKIE))
        if admin is None or admin not in self._auth.admin_names():
            raise SignInRequired("Sign in first.")
        connection.state.console_admin = admin


def sign_in_required(request: Request[Any, Any, Any], exc: SignInRequired) -> Response[Any]:
    """To the sign-in page, dropping a cookie that no longer names a session."""
    if request.headers.get("hx-request") == "true":
        response: Response[Any] = Response(content=b"", status_code=204, headers={"HX-Redirect": "/admin/signin"})
    else:
        response = Redirect("/admin/signin", status_code=303)
    if request.cookies.get(SESSION_COOKIE):
        response.set_cookie(session_cookie("", max_age=0))
    return response


def _admin(request: Request[Any, Any, Any]) -> str:
    """The signed-in admin's name (set by the guard): what the audit log records."""
    admin: str = request.state.console_admin
    return admin


def console_dependencies() -> dict[str, Provide]:
    return {
        "admin": Provide(_admin, sync_to_thread=False),
        "sessions": from_state("admin_sessions", AdminSessions),
        "signin_limit": from_state("signin_limit", SignInLimit),
        "provider_health": from_state("provider_health", ProviderHealth),
        "template_preview": from_state("template_preview", TemplatePreview),
    }
