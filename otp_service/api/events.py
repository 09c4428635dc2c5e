"""Admin routes for outbound events: each app's endpoints (with their signing secrets) and dead letters.

A signing secret is answered once, by the route that makes it (creation, rotation), as Svix and
Twilio do; every other answer shows ``secret_hint`` only.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from ..domain.errors import ValidationFailed
from ..domain.event_endpoints import Endpoint, EndpointBook
from ..domain.event_store import EventStore
from ..domain.events import EventType
from ..domain.times import rfc3339
from .admin import as_written
from .auth import Access, Authenticator
from .openapi import ApiOperation
from .problems import ProblemCode as P
from .problems import problem_responses

__all__ = ("EventsController",)

_GRACE_MAX_S = 7 * 86400


class EndpointIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    url: str
    types: list[EventType] = msgspec.field(default_factory=list)  # empty: every type
    enabled: bool = True


class EndpointPatch(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    url: str | None = None
    types: list[EventType] | None = None
    enabled: bool | None = None


class RotateIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    grace_seconds: int = 86400  # how long the previous secret keeps signing (0: stops at once)


class EndpointOut(msgspec.Struct, kw_only=True):
    id: str
    app: str
    url: str
    types: list[EventType]
    enabled: bool
    secret_hint: str
    previous_secret_valid_until: str | None
    created_at: str


class EndpointWithSecretOut(EndpointOut, kw_only=True):
    secret: str  # returned once: keep it, it is never shown again


class DeadLetterOut(msgspec.Struct, kw_only=True):
    event_id: str
    endpoint_id: str
    type: str
    subject: str
    attempts: int
    last_failure: str
    dead_at: str


class ReplayOut(msgspec.Struct, kw_only=True):
    replayed: int


def _fields(e: Endpoint) -> dict[str, Any]:
    until = rfc3339(e.previous_until_ms) if e.previous_secret and e.previous_until_ms else None
    return {
        "id": e.id,
        "app": e.app,
        "url": e.url,
        "types": e.types,
        "enabled": e.enabled,
        "secret_hint": e.secret_hint,
        "previous_secret_valid_until": until,
        "created_at": rfc3339(e.created_ms),
    }


def _out(e: Endpoint) -> EndpointOut:
    return EndpointOut(**_fields(e))


def _with_secret(e: Endpoint) -> EndpointWithSecretOut:
    return EndpointWithSecretOut(**_fields(e), secret=e.secret)


_READ = problem_responses(P.VALIDATION_ERROR, P.UNAUTHORIZED, P.FORBIDDEN, P.NOT_FOUND, P.STORE_UNAVAILABLE)
_WRITE = problem_responses(P.VALIDATION_ERROR, P.UNAUTHORIZED, P.FORBIDDEN, P.NOT_FOUND, P.STORE_UNAVAILABLE, body=True)


class EventsController(Controller):
    path = "/v1/admin/apps/{app:str}"
    tags = ["admin"]
    opt = {"access": Access.ADMIN}
    security = [{"bearer": []}]

    @post(
        "/event-endpoints",
        operation_id="createEventEndpoint",
        operation_class=ApiOperation,
        status_code=201,
        summary="Add an event endpoint; the answer holds its signing secret, shown this once",
        responses=_WRITE,
    )
    async def create_endpoint(
        self,
        app: FromPath[str],
        request: Request[Any, Any, Any],
        data: JSONBody[EndpointIn],
        auth: NamedDependency[Authenticator],
        event_endpoints: NamedDependency[EndpointBook],
    ) -> EndpointWithSecretOut:
        body = await as_written(request, EndpointIn)
        endpoint = await event_endpoints.create(auth.known_app(app), body.url, body.types, body.enabled)
        return _with_secret(endpoint)

    @get(
        "/event-endpoints",
        operation_id="listEventEndpoints",
        operation_class=ApiOperation,
        summary="An app's event endpoints (a hint of each secret, never the secret)",
        responses=_READ,
    )
    async def list_endpoints(
        self, app: FromPath[str], auth: NamedDependency[Authenticator], event_endpoints: NamedDependency[EndpointBook]
    ) -> list[EndpointOut]:
        return [_out(e) for e in await event_endpoints.list(auth.known_app(app))]

    @patch(
        "/event-endpoints/{endpoint_id:str}",
        operation_id="updateEventEndpoint",
        operation_class=ApiOperation,
        summary="Change an event endpoint's URL, event types or whether it is enabled",
        responses=_WRITE,
    )
    async def update_endpoint(
        self,
        app: FromPath[str],
        endpoint_id: FromPath[str],
        request: Request[Any, Any, Any],
        data: JSONBody[EndpointPatch],
        auth: NamedDependency[Authenticator],
        event_endpoints: NamedDependency[EndpointBook],
    ) -> EndpointOut:
        body = await as_written(request, EndpointPatch)
        endpoint = await event_endpoints.update(
            auth.known_app(app), endpoint_id, url=body.url, types=body.types, enabled=body.enabled
        )
        return _out(endpoint)

    @delete(
        "/event-endpoints/{endpoint_id:str}",
        operation_id="deleteEventEndpoint",
        operation_class=ApiOperation,
        summary="Remove an event endpoint (what is queued for it is dropped)",
        responses=_READ,
    )
    async def delete_endpoint(
        self,
        app: FromPath[str],
        endpoint_id: FromPath[str],
        auth: NamedDependency[Authenticator],
        event_endpoints: NamedDependency[EndpointBook],
    ) -> None:
        await event_endpoints.delete(auth.known_app(app), endpoint_id)

    @post(
        "/event-endpoints/{endpoint_id:str}/rotate-secret",
        operation_id="rotateEventEndpointSecret",
        operation_class=ApiOperation,
        status_code=200,
        summary="A new signing secret, shown this once; the previous one also signs for grace_seconds",
        responses=_WRITE,
    )
    async def rotate_secret(
        self,
        app: FromPath[str],
        endpoint_id: FromPath[str],
        request: Request[Any, Any, Any],
        data: JSONBody[RotateIn],
        auth: NamedDependency[Authenticator],
        event_endpoints: NamedDependency[EndpointBook],
    ) -> EndpointWithSecretOut:
        body = await as_written(request, RotateIn)
        if not 0 <= body.grace_seconds <= _GRACE_MAX_S:
            raise ValidationFailed(
                f"grace_seconds: must be between 0 and {_GRACE_MAX_S}",
                [{"field": "grace_seconds", "message": f"must be between 0 and {_GRACE_MAX_S}"}],
            )
        endpoint = await event_endpoints.rotate(auth.known_app(app), endpoint_id, body.grace_seconds)
        return _with_secret(endpoint)

    @get(
        "/event-dead-letters",
        operation_id="listEventDeadLetters",
        operation_class=ApiOperation,
        summary="Event deliveries that failed for the whole retry period, newest first",
        responses=_READ,
    )
    async def list_dead_letters(
        self,
        app: FromPath[str],
        auth: NamedDependency[Authenticator],
        event_store: NamedDependency[EventStore],
        limit: Annotated[int, QueryParameter(name="limit", ge=1, le=1000, required=False)] = 100,
    ) -> list[DeadLetterOut]:
        letters = await event_store.dead_letters(auth.known_app(app), limit=limit)
        return [
            DeadLetterOut(
                event_id=d.event_id,
                endpoint_id=d.endpoint_id,
                type=d.type,
                subject=d.subject,
                attempts=d.attempts,
                last_failure=d.last_failure,
                dead_at=rfc3339(d.dead_ms),
            )
            for d in letters
        ]

    @post(
        "/event-dead-letters/replay",
        operation_id="replayEventDeadLetters",
        operation_class=ApiOperation,
        status_code=200,
        summary="Put every dead letter of the app back in its queue for a new round of retries",
        responses=_READ,
    )
    async def replay_dead_letters(
        self, app: FromPath[str], auth: NamedDependency[Authenticator], event_store: NamedDependency[EventStore]
    ) -> ReplayOut:
        return ReplayOut(replayed=await event_store.replay(auth.known_app(app)))
