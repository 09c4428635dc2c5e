"""A cap on the request headers (16 KiB in all), enforced by the app whatever server runs it.

uvicorn's httptools parser has no header limit (one 8 MB header was accepted) and h11's
``h11_max_incomplete_event_size`` applies to h11 only; a header that large is no client's, and each
one is memory held and parsed on every hop. The check runs before routing, so an oversized request
reaches no route and no store, and answers 431 problem JSON (``validation_error``).
"""

from __future__ import annotations

from typing import Any, cast

import msgspec
import structlog
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, Scope, Send

from .problems import PROBLEM_MEDIA_TYPE, ProblemCode, problem_body

__all__ = ("MAX_HEADER_BYTES", "HeaderLimit")

MAX_HEADER_BYTES = 16 * 1024  # names and values of every header together
_TOO_LARGE = 431


class HeaderLimit:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == ScopeType.HTTP:
            headers = cast("dict[str, Any]", scope)["headers"]
            if sum(len(name) + len(value) for name, value in headers) > MAX_HEADER_BYTES:
                await _refuse(send)
                return
        await self.app(scope, receive, send)


async def _refuse(send: Send) -> None:
    structlog.contextvars.bind_contextvars(outcome=ProblemCode.VALIDATION_ERROR.value)
    detail = f"The request headers are larger than {MAX_HEADER_BYTES // 1024} KiB in all."
    body = msgspec.json.encode(problem_body(ProblemCode.VALIDATION_ERROR, detail, status=_TOO_LARGE))
    await send(
        {
            "type": "http.response.start",
            "status": _TOO_LARGE,
            "headers": [
                (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body, "more_body": False})
