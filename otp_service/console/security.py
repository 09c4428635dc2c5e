"""The console's browser-facing protections: headers on every response, CSRF, the session cookie.

* Content-Security-Policy: scripts, styles and images only from this origin (the vendored
  ``htmx.min.js`` and ``console.css``), no inline script or style (htmx is told not to inject its
  indicator style), no framing, forms only to this origin. Nothing in the templates needs more.
* CSRF: Litestar's double-submit middleware on the console's routes only (the bearer-token API has
  no cookies to abuse). Its signing secret is derived from the pepper, so every worker and replica
  accepts the tokens the others issued; the pepper itself is never used as a key elsewhere like this.
* The session cookie is ``Secure``, ``HttpOnly``, ``SameSite=Strict`` and scoped to ``/admin``.
  Secure always: browsers accept Secure cookies from ``http://localhost`` and ``127.0.0.1``, so a
  local ``otp-service dev`` works over plain http; anywhere else the console must be behind TLS.
"""

from __future__ import annotations

import hashlib
import hmac

from litestar.config.csrf import CSRFConfig
from litestar.datastructures import Cookie, MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.middleware import DefineMiddleware
from litestar.middleware.csrf import CSRFMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

__all__ = (
    "CONTENT_SECURITY_POLICY",
    "CSRF_FIELD",
    "CSRF_HEADER",
    "SESSION_COOKIE",
    "SecurityHeaders",
    "csrf_middleware",
    "session_cookie",
)

SESSION_COOKIE = "otp_admin"
CSRF_COOKIE = "otp_admin_csrf"
CSRF_HEADER = "x-csrftoken"
CSRF_FIELD = "_csrf_token"  # Litestar's form field name
PATH = "/admin"

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cache-control": "no-store",
    "cross-origin-opener-policy": "same-origin",
}


class SecurityHeaders:
    """Sets the headers above on every response under ``/admin``, error answers included.

    A plain ASGI wrapper around the whole app (like the request log), not a route middleware: a
    refusal raised by the CSRF middleware is answered by Litestar's exception handling, outside any
    route middleware, and must carry the headers too.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or not (scope["path"] + "/").startswith(PATH + "/"):
            await self.app(scope, receive, send)
            return

        static = scope["path"].startswith(PATH + "/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableScopeHeaders.from_message(message)
                for name, value in _HEADERS.items():
                    headers[name] = value
                if static:  # htmx and the stylesheet: the same for everyone, cached for a day
                    headers["cache-control"] = "public, max-age=86400"
            await send(message)

        await self.app(scope, receive, send_with_headers)


def csrf_middleware(pepper: bytes) -> DefineMiddleware:
    secret = hmac.new(pepper, b"otp-service admin console csrf", hashlib.sha256).hexdigest()
    config = CSRFConfig(
        secret=secret,
        cookie_name=CSRF_COOKIE,
        cookie_path=PATH,
        cookie_secure=True,
        cookie_httponly=True,  # the token reaches the page in the HTML, never read from the cookie
        cookie_samesite="strict",
        header_name=CSRF_HEADER,
    )
    return DefineMiddleware(CSRFMiddleware, config=config)


def session_cookie(value: str, *, max_age: int | None) -> Cookie:
    """The session cookie (an empty value with ``max_age=0`` removes it)."""
    return Cookie(
        key=SESSION_COOKIE,
        value=value,
        path=PATH,
        secure=True,
        httponly=True,
        samesite="strict",
        max_age=max_age,
    )
