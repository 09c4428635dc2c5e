"""The outbound events page: each app's endpoints, this process's delivery failures by class, and the
app's dead letters with a replay button (the same use cases as the events admin routes). A signing
secret is never shown, not even its hint, and an endpoint's URL is shown without its query string or
user info, where receivers put tokens."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlsplit, urlunsplit

import structlog
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import QueryParameter
from litestar.response import Redirect, Template
from prometheus_client import Counter

from ..api.auth import Authenticator
from ..domain.event_endpoints import EndpointBook
from ..domain.event_store import EventStore
from ..domain.times import rfc3339
from ..metrics import EVENTS_DEAD_LETTERS, EVENTS_DELIVERED, EVENTS_FAILURES
from .views import page

__all__ = ("EventsPages",)

log = structlog.get_logger("otp.console")


def _totals(counter: Counter, label: str | None = None) -> dict[str, int]:
    """A counter's totals by one label (or under ``""``), as this process counted them."""
    totals: dict[str, int] = {}
    for family in counter.collect():
        for sample in family.samples:
            if sample.name.endswith("_total"):
                key = sample.labels.get(label, "") if label else ""
                totals[key] = totals.get(key, 0) + int(sample.value)
    return dict(sorted(totals.items()))


def _shown_url(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "…" if parts.query else "", ""))


class EventsPages(Controller):
    path = "/admin"
    include_in_schema = False

    @get("/events")
    async def events_page(
        self,
        request: Request[Any, Any, Any],
        auth: NamedDependency[Authenticator],
        event_endpoints: NamedDependency[EndpointBook],
        event_store: NamedDependency[EventStore],
        app: Annotated[str, QueryParameter(name="app", required=False, max_length=64)] = "",
    ) -> Template:
        apps = sorted(auth.apps())
        name = auth.known_app(app) if app else apps[0]
        endpoints = [
            {
                "id": e.id,
                "url": _shown_url(e.url),
                "types": e.types,
                "enabled": e.enabled,
                "created": rfc3339(e.created_ms),
            }
            for e in await event_endpoints.list(name)
        ]
        letters = [
            {
                "event_id": d.event_id,
                "endpoint_id": d.endpoint_id,
                "type": d.type,
                "subject": d.subject,
                "attempts": d.attempts,
                "last_failure": d.last_failure,
                "dead_at": rfc3339(d.dead_ms),
            }
            for d in await event_store.dead_letters(name, limit=200)
        ]
        replayed = request.query_params.get("replayed")
        return page(
            request,
            "events.html",
            title="Events",
            active="/admin/events",
            app=name,
            apps=apps,
            endpoints=endpoints,
            letters=letters,
            failures=_totals(EVENTS_FAILURES, "reason"),
            delivered=_totals(EVENTS_DELIVERED).get("", 0),
            dead=_totals(EVENTS_DEAD_LETTERS).get("", 0),
            notice=f"Replayed {int(replayed)} dead letter(s)." if replayed and replayed.isdecimal() else None,
        )

    @post("/events/replay", status_code=303)
    async def replay(
        self,
        request: Request[Any, Any, Any],
        auth: NamedDependency[Authenticator],
        event_store: NamedDependency[EventStore],
        admin: NamedDependency[str],
    ) -> Redirect:
        name = auth.known_app(str((await request.form()).get("app", "")))
        replayed = await event_store.replay(name)
        log.info("console.dead_letters_replayed", admin=admin, app=name, replayed=replayed)
        return Redirect(f"/admin/events?app={name}&replayed={replayed}", status_code=303)
