"""Admin routes: the live settings and their audit log."""

from __future__ import annotations

import re
from typing import Annotated, Any, TypeVar

import msgspec
from litestar import Controller, Request, get, patch, put
from litestar.di import NamedDependency
from litestar.params import JSONBody, QueryParameter

from ..domain.errors import ValidationFailed
from ..domain.operations import Operations
from ..domain.policy import LiveSettings, SettingsPatch
from .auth import Access
from .openapi import ApiOperation
from .problems import ProblemCode as P
from .problems import problem_responses
from .schemas import AuditEntryOut, SettingsOut

__all__ = ("AdminController", "as_written", "decode_strictly")

T = TypeVar("T")
_AT = re.compile(r" - at `\$\.?([^`]*)`$")


async def as_written(request: Request[Any, Any, Any], kind: type[T]) -> T:
    """The JSON body decoded strictly, as a client body is: ``"8"``, ``6.0`` or ``"86400.0"`` is no integer.

    Litestar converts a body to the route's type leniently (``strict=False``), which suits query
    strings, not settings an admin typed: a number written as a string or a float is a mistake to
    point out, not to guess at. Litestar's lenient pass has run already (the body is valid JSON of
    the right shape); this one decides.
    """
    return decode_strictly(await request.body(), kind)


def decode_strictly(body: bytes, kind: type[T]) -> T:
    """:func:`as_written` for a body already read; a ``validation_error`` names the field."""
    try:
        return msgspec.json.decode(body, type=kind)
    except msgspec.ValidationError as exc:
        text = str(exc)
        found = _AT.search(text)
        message = text[: found.start()] if found else text
        error = {"message": message, **({"field": found.group(1)} if found and found.group(1) else {})}
        raise ValidationFailed(f"{error['field']}: {message}" if "field" in error else message, [error]) from None


def _out(settings: LiveSettings, warnings: list[str]) -> SettingsOut:
    fields: dict[str, Any] = msgspec.structs.asdict(settings)
    return SettingsOut(**fields, warnings=warnings)


class AdminController(Controller):
    path = "/v1/admin"
    tags = ["admin"]
    opt = {"access": Access.ADMIN}
    security = [{"bearer": []}]

    @get(
        "/settings",
        operation_id="getSettings",
        operation_class=ApiOperation,
        summary="Read the live settings",
        responses=problem_responses(P.UNAUTHORIZED, P.FORBIDDEN, P.NOT_FOUND, P.STORE_UNAVAILABLE),
    )
    async def read_settings(self, operations: NamedDependency[Operations]) -> SettingsOut:
        return _out(*await operations.settings())

    @patch(
        "/settings",
        operation_id="updateSettings",
        operation_class=ApiOperation,
        summary="Change any subset of the live settings (all or nothing)",
        description="503 settings_unreadable while the document in Redis cannot be read: replace it with PUT.",
        responses=problem_responses(
            P.VALIDATION_ERROR,
            P.UNAUTHORIZED,
            P.FORBIDDEN,
            P.NOT_FOUND,
            P.CONFLICT,
            P.STORE_UNAVAILABLE,
            P.SETTINGS_UNREADABLE,
            body=True,
        ),
    )
    async def update_settings(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[SettingsPatch],  # for the OpenAPI document and the first, lenient check
        operations: NamedDependency[Operations],
        client: NamedDependency[str],
    ) -> SettingsOut:
        return _out(*await operations.update_settings(await as_written(request, SettingsPatch), admin=client))

    @put(
        "/settings",
        operation_id="replaceSettings",
        operation_class=ApiOperation,
        summary="Replace the live settings document: the given fields set, every other one from the baseline",
        description="Works whatever the stored document holds: the repair for 503 settings_unreadable.",
        responses=problem_responses(
            P.VALIDATION_ERROR, P.UNAUTHORIZED, P.FORBIDDEN, P.NOT_FOUND, P.CONFLICT, P.STORE_UNAVAILABLE, body=True
        ),
    )
    async def replace_settings(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[SettingsPatch],  # for the OpenAPI document and the first, lenient check
        operations: NamedDependency[Operations],
        client: NamedDependency[str],
    ) -> SettingsOut:
        return _out(*await operations.replace_settings(await as_written(request, SettingsPatch), admin=client))

    @get(
        "/audit",
        operation_id="getAuditLog",
        operation_class=ApiOperation,
        summary="Settings changes, newest first",
        responses=problem_responses(P.VALIDATION_ERROR, P.UNAUTHORIZED, P.FORBIDDEN, P.NOT_FOUND, P.STORE_UNAVAILABLE),
    )
    async def audit(
        self,
        operations: NamedDependency[Operations],
        limit: Annotated[int, QueryParameter(name="limit", ge=1, le=1000, required=False)] = 100,
    ) -> list[AuditEntryOut]:
        entries = await operations.audit(limit)
        return [AuditEntryOut(time=e.time, admin=e.admin, field=e.field, old=e.old, new=e.new) for e in entries]
