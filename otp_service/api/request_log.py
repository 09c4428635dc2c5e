"""A request id and one access-log line for every HTTP request, routed or not: a plain ASGI middleware.

Litestar runs the middleware given to ``Litestar(middleware=...)`` only for requests that reach a
route handler; the router's own 404s and 405s never pass through it. So ``create_app`` wraps this
around the app's whole ASGI handler, outside routing and exception handling.

The id is the caller's ``X-Request-ID`` when it is short and plain, else a fresh one; it goes back in
the response's ``x-request-id`` header and into every log line of the request. Probes and metrics
scrapes are logged only when they fail. The path logged is the route's template, so a webhook's
secret never reaches the log.
"""

from __future__ import annotations

import re
import time
import uuid
from typing import Any, cast

import structlog
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ("RequestLog",)

log = structlog.get_logger("otp.http")
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")  # fullmatch: ``$`` allows a final newline
_QUIET = ("/health/", "/metrics")


class RequestLog:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        http = cast("dict[str, Any]", scope)
        structlog.contextvars.clear_contextvars()
        incoming = dict(http["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            path: str = http.get("path_template") or http["path"][:80]
            if path.startswith("/v1/webhooks/") and "{secret" not in path:
                path = "/v1/webhooks/…"
            if not path.startswith(_QUIET) or status >= 400:
                log.info(
                    "request",
                    method=http["method"],
                    path=path,
                    status=status,
                    duration_ms=round((time.perf_counter() - started) * 1000, 2),
                )
