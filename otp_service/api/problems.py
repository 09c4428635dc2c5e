"""Every failure becomes RFC 9457 problem JSON here, and only here.

Domain errors, Litestar's own HTTP exceptions (validation, unknown route, wrong method, body too
large) and anything unexpected all go through :func:`problem_response`, so every error body has the
same shape with a stable ``code``. Unexpected errors answer a generic 500: their text may hold
anything and is logged (redacted), never returned.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import structlog
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.plugins.problem_details import ProblemDetailsException
from redis.exceptions import RedisError

from ..domain.errors import (
    Conflict,
    CountryNotAllowed,
    DomainError,
    InvalidPhone,
    NotFound,
    ProviderUnavailableError,
    RateLimited,
    SettingsUnreadable,
    StoreUnavailable,
    ValidationFailed,
)
from ..metrics import REDIS_ERRORS

__all__ = ("EXCEPTION_HANDLERS", "ProblemException", "problem")

log = structlog.get_logger("otp.errors")

TITLES = {
    "validation_error": "Invalid request",
    "invalid_phone": "Invalid phone number",
    "country_not_allowed": "Country not allowed",
    "unauthorized": "Unauthorized",
    "forbidden": "Forbidden",
    "not_found": "Not found",
    "rate_limited": "Too many requests",
    "max_attempts_reached": "Too many attempts",
    "conflict": "Conflict",
    "provider_unavailable": "Provider unavailable",
    "store_unavailable": "Store unavailable",
    "settings_unreadable": "Settings document unreadable",
    "internal_error": "Internal error",
}
_STATUS_CODES = {
    400: "validation_error",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "validation_error",
    409: "conflict",
    413: "validation_error",
    415: "validation_error",
    429: "rate_limited",
    503: "store_unavailable",
}


class ProblemException(ProblemDetailsException):
    """A problem raised directly by a route or guard (401, 403, 404)."""

    def __init__(self, status: int, code: str, detail: str, *, headers: dict[str, str] | None = None) -> None:
        structlog.contextvars.bind_contextvars(outcome=code)
        super().__init__(
            status_code=status,
            detail=detail,
            title=TITLES[code],
            type_=f"urn:otp-service:problem:{code}",
            extra={"code": code},
            headers=headers,
        )


def problem(
    status: int, code: str, detail: str, *, headers: dict[str, str] | None = None, **extra: Any
) -> Response[dict[str, Any]]:
    structlog.contextvars.bind_contextvars(outcome=code)
    body: dict[str, Any] = {
        "type": f"urn:otp-service:problem:{code}",
        "title": TITLES.get(code, "Error"),
        "status": status,
        "detail": detail,
        "code": code,
        **extra,
    }
    return Response(body, status_code=status, media_type="application/problem+json", headers=headers)


def _validation(exc: ValidationException) -> Response[dict[str, Any]]:
    errors = []
    if isinstance(exc.extra, list):
        for item in exc.extra:
            if isinstance(item, dict):
                entry = {"message": str(item.get("message", "invalid"))}
                if item.get("key"):
                    entry["field"] = str(item["key"])
                if item.get("source"):
                    entry["source"] = str(item["source"])
                errors.append(entry)
    detail = errors[0]["message"] if errors else "The request body is not valid."
    if "field" in (errors[0] if errors else {}):
        detail = f"{errors[0]['field']}: {detail}"
    return problem(400, "validation_error", detail, errors=errors)


def _http(request: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    if isinstance(exc, ProblemDetailsException):
        return exc.to_response(request)
    if isinstance(exc, ValidationException):
        return _validation(exc)
    status = exc.status_code
    code = _STATUS_CODES.get(status, "internal_error" if status >= 500 else "validation_error")
    detail = {
        404: "No such resource.",
        405: f"Method {request.method} is not allowed here.",
        413: "The request body is too large.",
    }.get(status, exc.detail if status < 500 else "The request could not be processed.")
    headers = dict(exc.headers or {})
    return problem(status, code, detail, headers=headers or None)


def _domain(request: Request[Any, Any, Any], exc: DomainError) -> Response[dict[str, Any]]:
    if isinstance(exc, RateLimited):
        seconds = str(exc.retry_after_s)
        return problem(429, "rate_limited", exc.detail, headers={"Retry-After": seconds}, retry_after=exc.retry_after_s)
    if isinstance(exc, ValidationFailed):
        return problem(400, "validation_error", exc.detail, errors=exc.errors)
    if isinstance(exc, InvalidPhone):
        return problem(400, "invalid_phone", exc.detail, errors=[{"field": "to", "message": exc.detail}])
    if isinstance(exc, CountryNotAllowed):
        return problem(403, "country_not_allowed", exc.detail)
    if isinstance(exc, NotFound):
        return problem(404, "not_found", exc.detail)
    if isinstance(exc, Conflict):
        return problem(409, "conflict", exc.detail)
    if isinstance(exc, ProviderUnavailableError):
        return problem(503, "provider_unavailable", exc.detail, tried=exc.tried, headers={"Retry-After": "5"})
    if isinstance(exc, SettingsUnreadable):
        return problem(503, "settings_unreadable", exc.detail)
    if isinstance(exc, StoreUnavailable):
        REDIS_ERRORS.inc()
        log.error("store.unavailable", error=repr(exc.__cause__)[:200] if exc.__cause__ else "unknown")
        return problem(503, "store_unavailable", exc.detail, headers={"Retry-After": "1"})
    return _internal(request, exc)


def _internal(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    log.error("request.failed", error=type(exc).__name__)
    return problem(500, "internal_error", "The request could not be processed.")


def _redis(request: Request[Any, Any, Any], exc: RedisError) -> Response[dict[str, Any]]:
    return _domain(request, StoreUnavailable("The verification store is unavailable."))


EXCEPTION_HANDLERS: dict[type[Exception], Callable[..., Response[Any]]] = {
    HTTPException: _http,
    RedisError: _redis,
    DomainError: _domain,
    Exception: _internal,
}
