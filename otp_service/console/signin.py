"""Signing in to the console with an admin token, and out again."""

from __future__ import annotations

from typing import Any

import structlog
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.response import Redirect, Template

from ..api.auth import Authenticator
from ..domain.admin_sessions import AdminSessions
from ..domain.errors import RateLimited
from ..domain.signin_limit import SignInLimit
from .access import PUBLIC
from .security import SESSION_COOKIE, session_cookie
from .views import page

__all__ = ("SignInController",)

log = structlog.get_logger("otp.console")


class SignInController(Controller):
    path = "/admin"
    include_in_schema = False

    @get("/", opt={PUBLIC: True})
    async def index(self) -> Redirect:
        return Redirect("/admin/settings", status_code=303)

    @get("/signin", opt={PUBLIC: True})
    async def sign_in_page(self, request: Request[Any, Any, Any]) -> Template:
        return page(request, "signin.html", title="Sign in")

    @post("/signin", opt={PUBLIC: True}, status_code=303)
    async def sign_in(
        self,
        request: Request[Any, Any, Any],
        auth: NamedDependency[Authenticator],
        sessions: NamedDependency[AdminSessions],
        signin_limit: NamedDependency[SignInLimit],
        client_ip: NamedDependency[str],
    ) -> Response[Any]:
        form = await request.form()
        try:
            await signin_limit.attempt(client_ip)  # before the token is looked at: right or wrong, it counts
        except RateLimited as exc:
            log.warning("console.signin_throttled", ip=client_ip, retry_after_s=exc.retry_after_s)
            return page(
                request,
                "signin.html",
                title="Sign in",
                status=429,
                headers={"Retry-After": str(exc.retry_after_s)},
                error=f"Too many sign-in attempts. Try again in {exc.retry_after_s} seconds.",
            )
        token = form.get("token")
        admin = auth.admin_for(token if isinstance(token, str) else None)
        if admin is None:
            log.warning("console.signin_failed", ip=client_ip)
            return page(request, "signin.html", title="Sign in", status=401, error="That is not an admin token.")
        response: Response[Any] = Redirect("/admin/settings", status_code=303)
        response.set_cookie(session_cookie(await sessions.start(admin), max_age=None))
        log.info("console.signed_in", admin=admin, ip=client_ip)
        return response

    @post("/signout", status_code=303)
    async def sign_out(
        self, request: Request[Any, Any, Any], sessions: NamedDependency[AdminSessions], admin: NamedDependency[str]
    ) -> Response[Any]:
        await sessions.end(request.cookies.get(SESSION_COOKIE))
        log.info("console.signed_out", admin=admin)
        response: Response[Any] = Redirect("/admin/signin", status_code=303)
        response.set_cookie(session_cookie("", max_age=0))
        return response
