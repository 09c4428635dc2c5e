"""Every failure becomes RFC 9457 problem JSON here, and only here.

:class:`ProblemCode` is the one table of problem codes: each code once, with its HTTP status, its
title and the text the OpenAPI document gives it. Domain errors reach it through Litestar's
exception handlers (one per domain error type, chosen by Litestar along the exception's MRO);
Litestar's own HTTP exceptions (validation, unknown route, wrong method, body too large) and
anything unexpected go through the same :func:`problem`, so every error body has the same shape
with a stable ``code``. Unexpected errors answer a generic 500: their text may hold anything and is
logged (redacted), never returned.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

import msgspec
import structlog
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi.datastructures import ResponseSpec
from redis.exceptions import RedisError

from ..domain.errors import (
    Conflict,
    CountryNotAllowed,
    DomainError,
    InvalidPhone,
    NotFound,
    NumberNotAllowed,
    ProviderUnavailableError,
    RateLimited,
    SettingsUnreadable,
    StoreUnavailable,
    ValidationFailed,
)
from ..metrics import REDIS_ERRORS

__all__ = (
    "EXCEPTION_HANDLERS",
    "PROBLEM_MEDIA_TYPE",
    "Problem",
    "ProblemCode",
    "ProblemException",
    "problem",
    "problem_body",
    "problem_headers",
    "problem_responses",
)

log = structlog.get_logger("otp.errors")


class ProblemCode(enum.StrEnum):
    """The stable ``code`` of a problem, with its status, title (``heading``) and OpenAPI text.

    ``router_statuses`` are the statuses of Litestar's own HTTP errors that answer with this code
    (the router's 404 and 405, the body limit's 413, ...); each status belongs to one code at most.
    ``headers`` are the response headers that always come with the code.
    """

    status: int
    heading: str  # the problem's ``title`` (``str.title`` is taken)
    doc: str
    router_statuses: tuple[int, ...]
    headers: tuple[str, ...]

    def __new__(
        cls,
        code: str,
        status: int,
        title: str,
        doc: str,
        router_statuses: tuple[int, ...] = (),
        headers: tuple[str, ...] = (),
    ) -> ProblemCode:
        member = str.__new__(cls, code)
        member._value_ = code
        member.status = status
        member.heading = title
        member.doc = doc
        member.router_statuses = router_statuses
        member.headers = headers
        return member

    VALIDATION_ERROR = (
        "validation_error",
        400,
        "Invalid request",
        "The body, a parameter or a header breaks the schema or a rule; `errors` lists each field.",
        (400, 405, 413, 415, 431),
    )
    INVALID_PHONE = (
        "invalid_phone",
        400,
        "Invalid phone number",
        "`to` is not a valid phone number in international form.",
    )
    COUNTRY_NOT_ALLOWED = (
        "country_not_allowed",
        403,
        "Country not allowed",
        "The number belongs to a country the live settings do not accept.",
    )
    UNAUTHORIZED = (
        "unauthorized",
        401,
        "Unauthorized",
        "The bearer token is missing or wrong.",
        (401,),
        ("WWW-Authenticate",),
    )
    FORBIDDEN = ("forbidden", 403, "Forbidden", "A client API key on an admin route.", (403,))
    NOT_FOUND = ("not_found", 404, "Not found", "No such resource (or admin routes are disabled).", (404,))
    RATE_LIMITED = (
        "rate_limited",
        429,
        "Too many requests",
        "A limit was reached; `Retry-After` (and `retry_after`) says how many seconds to wait.",
        (429,),
        ("Retry-After",),
    )
    MAX_ATTEMPTS_REACHED = (
        "max_attempts_reached",
        429,
        "Too many attempts",
        "Reserved by the contract; a used-up verification is answered by the check itself (200).",
    )
    CONFLICT = (
        "conflict",
        409,
        "Conflict",
        "The request conflicts with another one (an idempotency key's first body, a concurrent settings change).",
        (409,),
    )
    PROVIDER_UNAVAILABLE = (
        "provider_unavailable",
        503,
        "Provider unavailable",
        "Every SMS provider in the chain failed; `tried` lists them and why.",
        (),
        ("Retry-After",),
    )
    STORE_UNAVAILABLE = (
        "store_unavailable",
        503,
        "Store unavailable",
        "The verification store (Redis) is down.",
        (503,),
        ("Retry-After",),
    )
    SETTINGS_UNREADABLE = (
        "settings_unreadable",
        503,
        "Settings document unreadable",
        "The live settings document in Redis cannot be read; replace it with PUT /v1/admin/settings "
        "or `otp-service settings reset`.",
        (),
        ("Retry-After",),
    )
    NUMBER_NOT_ALLOWED = (
        "number_not_allowed",
        403,
        "Number not allowed",
        "The number's type (premium rate, toll free, fixed line, ...) or prefix is not accepted by the live "
        "settings; `detail` says which.",
    )
    INTERNAL_ERROR = (
        "internal_error",
        500,
        "Internal error",
        "An unexpected error; nothing about it is returned.",
        (500,),
    )


if TYPE_CHECKING:
    CodeText = str
else:  # the OpenAPI document lists the codes inline, in the table's order
    CodeText = Literal[tuple(code.value for code in ProblemCode)]


class ProblemError(msgspec.Struct, kw_only=True):
    message: str
    field: str | None = None
    source: str | None = None


class ProviderTried(msgspec.Struct, kw_only=True):
    provider: str
    reason: str


class Problem(msgspec.Struct, kw_only=True):
    """RFC 9457 problem details; ``code`` is the stable, machine-readable part."""

    type: str
    title: str
    status: int
    detail: str
    code: CodeText
    retry_after: int | None = None
    errors: list[ProblemError] | None = None
    tried: list[ProviderTried] | None = None
    limit: str | None = None  # 429: which limit or budget was reached


PROBLEM_MEDIA_TYPE = "application/problem+json"
# Listed by the contract but never sent: a check that uses the last attempt answers 200.
_RESERVED = frozenset({ProblemCode.MAX_ATTEMPTS_REACHED})


def _codes_for(status: int) -> list[ProblemCode]:
    return [
        code
        for code in ProblemCode
        if (code.status == status or status in code.router_statuses) and code not in _RESERVED
    ]


def problem_headers(status: int) -> list[str]:
    """The headers every problem response with ``status`` carries (for the OpenAPI document)."""
    codes = _codes_for(status)
    return [
        name
        for name in dict.fromkeys(h for code in codes for h in code.headers)
        if all(name in c.headers for c in codes)
    ]


def problem_responses(*codes: ProblemCode, body: bool = False) -> dict[int, ResponseSpec]:
    """OpenAPI entries for the problems a route can answer, described from the table.

    ``body``: the route reads a body, so Litestar's size limit can answer 413 ``validation_error``.
    """
    by_status: dict[int, list[str]] = {}
    for code in codes:
        by_status.setdefault(code.status, []).append(f"`{code.value}`: {code.doc}")
    if body:
        by_status[413] = [f"`{ProblemCode.VALIDATION_ERROR.value}`: The body is larger than the limit."]
    return {
        status: ResponseSpec(
            data_container=Problem,
            description=" ".join(texts),
            media_type=PROBLEM_MEDIA_TYPE,
            generate_examples=False,
        )
        for status, texts in sorted(by_status.items())
    }


class ProblemException(HTTPException):
    """A problem raised by a guard (401, 403, 404): an HTTP concern with no domain error behind it."""

    def __init__(self, code: ProblemCode, detail: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(status_code=code.status, detail=detail, headers=headers)
        self.code = code


def problem(
    code: ProblemCode,
    detail: str,
    *,
    status: int | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response[dict[str, Any]]:
    structlog.contextvars.bind_contextvars(outcome=code.value)
    status = status or code.status
    body = problem_body(code, detail, status=status, **extra)
    return Response(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def problem_body(code: ProblemCode, detail: str, *, status: int | None = None, **extra: Any) -> dict[str, Any]:
    """The problem JSON itself, for the answers given outside Litestar (the header caps)."""
    return {
        "type": f"urn:otp-service:problem:{code.value}",
        "title": code.heading,
        "status": status or code.status,
        "detail": detail,
        "code": code.value,
        **extra,
    }


_ROUTER_CODES = {status: code for code in ProblemCode for status in code.router_statuses}
_ROUTER_DETAILS = {404: "No such resource.", 413: "The request body is too large."}


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
    return problem(ProblemCode.VALIDATION_ERROR, detail, errors=errors)


def _http(request: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    if isinstance(exc, ProblemException):
        return problem(exc.code, exc.detail, headers=exc.headers)
    if isinstance(exc, ValidationException):
        return _validation(exc)
    status = exc.status_code
    code = _ROUTER_CODES.get(status, ProblemCode.INTERNAL_ERROR if status >= 500 else ProblemCode.VALIDATION_ERROR)
    if status == 405:
        detail = f"Method {request.method} is not allowed here."
    else:
        detail = _ROUTER_DETAILS.get(status, exc.detail if status < 500 else "The request could not be processed.")
    return problem(code, detail, status=status, headers=dict(exc.headers or {}) or None)


def _rate_limited(request: Request[Any, Any, Any], exc: RateLimited) -> Response[dict[str, Any]]:
    seconds = exc.retry_after_s
    return problem(
        ProblemCode.RATE_LIMITED,
        exc.detail,
        headers={"Retry-After": str(seconds)},
        retry_after=seconds,
        limit=exc.limit,
    )


def _validation_failed(request: Request[Any, Any, Any], exc: ValidationFailed) -> Response[dict[str, Any]]:
    return problem(ProblemCode.VALIDATION_ERROR, exc.detail, errors=exc.errors)


def _invalid_phone(request: Request[Any, Any, Any], exc: InvalidPhone) -> Response[dict[str, Any]]:
    return problem(ProblemCode.INVALID_PHONE, exc.detail, errors=[{"field": "to", "message": exc.detail}])


def _provider_unavailable(request: Request[Any, Any, Any], exc: ProviderUnavailableError) -> Response[dict[str, Any]]:
    return problem(ProblemCode.PROVIDER_UNAVAILABLE, exc.detail, tried=exc.tried, headers={"Retry-After": "5"})


def _store_unavailable(request: Request[Any, Any, Any], exc: StoreUnavailable) -> Response[dict[str, Any]]:
    REDIS_ERRORS.inc()
    log.error("store.unavailable", error=repr(exc.__cause__)[:200] if exc.__cause__ else "unknown")
    return problem(ProblemCode.STORE_UNAVAILABLE, exc.detail, headers={"Retry-After": "1"})


def _redis(request: Request[Any, Any, Any], exc: RedisError) -> Response[dict[str, Any]]:
    return _store_unavailable(request, StoreUnavailable("The verification store is unavailable."))


def _plain(code: ProblemCode) -> Callable[[Request[Any, Any, Any], DomainError], Response[dict[str, Any]]]:
    def handle(request: Request[Any, Any, Any], exc: DomainError) -> Response[dict[str, Any]]:
        return problem(code, exc.detail)

    return handle


def _settings_unreadable(request: Request[Any, Any, Any], exc: SettingsUnreadable) -> Response[dict[str, Any]]:
    return problem(ProblemCode.SETTINGS_UNREADABLE, exc.detail, headers={"Retry-After": "30"})


def _too_deep(request: Request[Any, Any, Any], exc: RecursionError) -> Response[dict[str, Any]]:
    # Only a reader of untrusted input recurses this deep in a request: msgspec decoding the body
    # (Litestar's body parsing, a webhook's receipt parser) raises it past about 1,000 levels.
    # The decode comes before any work, so the request changed nothing: it is the client's error.
    log.warning("request.too_deep")
    return problem(ProblemCode.VALIDATION_ERROR, "The body is nested too deeply.")


def _internal(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    log.error("request.failed", error=type(exc).__name__)
    return problem(ProblemCode.INTERNAL_ERROR, "The request could not be processed.")


# Litestar picks the handler of the nearest class in the exception's MRO: SettingsInvalid is a
# ValidationFailed, any other DomainError falls through to ``Exception``.
EXCEPTION_HANDLERS: dict[type[Exception], Callable[..., Response[Any]]] = {
    HTTPException: _http,
    RedisError: _redis,
    ValidationFailed: _validation_failed,
    InvalidPhone: _invalid_phone,
    CountryNotAllowed: _plain(ProblemCode.COUNTRY_NOT_ALLOWED),
    NumberNotAllowed: _plain(ProblemCode.NUMBER_NOT_ALLOWED),
    NotFound: _plain(ProblemCode.NOT_FOUND),
    Conflict: _plain(ProblemCode.CONFLICT),
    RateLimited: _rate_limited,
    ProviderUnavailableError: _provider_unavailable,
    StoreUnavailable: _store_unavailable,
    SettingsUnreadable: _settings_unreadable,
    RecursionError: _too_deep,
    Exception: _internal,
}
