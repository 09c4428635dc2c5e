"""Each app's event endpoints: where its events go, which types, and the secret that signs them.

Stored on the events slot (``otp:{events}:endpoints``, id -> JSON, ``otp:{events}:app:<app>``, the
app's ids, and ``otp:{events}:apps``, each app that has any and since when: ``event_presence.py``)
so that the fan-out script reads them next to the stream. The signing secret
(``whsec_`` + base64 of 32 random bytes, the Standard Webhooks form) is kept as is, because it must
sign; it is returned once, when it is made (creation, rotation), and never again: listings show a
hint of its last characters. A rotation keeps the previous secret signing too until the grace period
ends, so receivers can switch whenever they like within it.

URLs are only checked for an http(s) scheme and a host: operators set them, through the admin API.
An operator who must keep endpoints off internal addresses (SSRF) should enforce it in the egress
network; the service does not resolve or filter addresses.
"""

from __future__ import annotations

import base64
import secrets
import time
from collections.abc import Sequence

import httpx
import msgspec

from .errors import NotFound, ValidationFailed
from .event_presence import EndpointPresence
from .events import EventType
from .redis_store import RedisStore, as_text

__all__ = ("Endpoint", "EndpointBook", "new_secret")

MAX_ENDPOINTS_PER_APP = 10
MAX_URL_LENGTH = 2048


class Endpoint(msgspec.Struct, kw_only=True):
    id: str
    app: str
    url: str
    types: list[EventType]
    enabled: bool = True
    secret: str
    previous_secret: str = ""
    previous_until_ms: int = 0
    created_ms: int

    @property
    def secret_hint(self) -> str:
        return f"whsec_...{self.secret[-4:]}"

    def signing_secrets(self, now_ms: int) -> list[str]:
        """The secrets that sign now: the current one, and the previous one during a rotation's grace."""
        if self.previous_secret and now_ms < self.previous_until_ms:
            return [self.secret, self.previous_secret]
        return [self.secret]


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def _now_ms() -> int:
    return int(time.time() * 1000)


def checked_url(url: str) -> str:
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError):
        parsed = None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.host or len(url) > MAX_URL_LENGTH:
        raise ValidationFailed(
            "The endpoint URL must be an absolute http:// or https:// URL with a host.",
            [{"field": "url", "message": "must be an absolute http(s) URL"}],
        )
    return url


class EndpointBook:
    """``presence``: this process's view of which apps have endpoints, read again at once after a
    creation or deletion here (other replicas see it within their cache period)."""

    def __init__(self, store: RedisStore, *, presence: EndpointPresence | None = None) -> None:
        self._store = store
        self._all = store.keys.events("endpoints")
        self._apps = store.keys.events("apps")
        self._presence = presence

    def _app_key(self, app: str) -> str:
        return self._store.keys.events(f"app:{app}")

    async def get(self, endpoint_id: str) -> Endpoint | None:
        raw = await self._store.run(lambda: self._store.redis.hget(self._all, endpoint_id))
        return msgspec.json.decode(raw, type=Endpoint) if raw else None

    async def of_app(self, app: str, endpoint_id: str) -> Endpoint:
        endpoint = await self.get(endpoint_id)
        if endpoint is None or endpoint.app != app:
            raise NotFound("No event endpoint with this id.")
        return endpoint

    async def list(self, app: str) -> list[Endpoint]:
        key = self._app_key(app)
        ids = sorted(as_text(i) for i in await self._store.run(lambda: self._store.redis.smembers(key)))
        found = [await self.get(i) for i in ids]
        return sorted((e for e in found if e is not None), key=lambda e: (e.created_ms, e.id))

    async def create(self, app: str, url: str, types: Sequence[EventType], enabled: bool) -> Endpoint:
        if len(await self.list(app)) >= MAX_ENDPOINTS_PER_APP:
            raise ValidationFailed(f"An app has at most {MAX_ENDPOINTS_PER_APP} event endpoints.")
        endpoint = Endpoint(
            id=f"ep_{secrets.token_hex(8)}",
            app=app,
            url=checked_url(url),
            types=list(types or EventType),
            enabled=enabled,
            secret=new_secret(),
            created_ms=_now_ms(),
        )
        keys = [self._all, self._app_key(app), self._apps]
        await self._store.script(
            self._store.scripts.endpoint_add, keys, [endpoint.id, msgspec.json.encode(endpoint), app]
        )
        await self._changed()
        return endpoint

    async def update(
        self,
        app: str,
        endpoint_id: str,
        *,
        url: str | None = None,
        types: Sequence[EventType] | None = None,
        enabled: bool | None = None,
    ) -> Endpoint:
        endpoint = await self.of_app(app, endpoint_id)
        if url is not None:
            endpoint.url = checked_url(url)
        if types is not None:
            endpoint.types = list(types or EventType)
        if enabled is not None:
            endpoint.enabled = enabled
        await self._save(endpoint)
        return endpoint

    async def rotate(self, app: str, endpoint_id: str, grace_s: int) -> Endpoint:
        """A new secret; the old one keeps signing for ``grace_s`` seconds."""
        endpoint = await self.of_app(app, endpoint_id)
        endpoint.previous_secret = endpoint.secret if grace_s > 0 else ""
        endpoint.previous_until_ms = _now_ms() + grace_s * 1000 if grace_s > 0 else 0
        endpoint.secret = new_secret()
        await self._save(endpoint)
        return endpoint

    async def delete(self, app: str, endpoint_id: str) -> None:
        await self.of_app(app, endpoint_id)
        keys = [self._all, self._app_key(app), self._apps]
        await self._store.script(self._store.scripts.endpoint_remove, keys, [endpoint_id, app])
        await self._changed()

    async def _changed(self) -> None:
        if self._presence is not None:
            await self._presence.refresh()

    async def _save(self, endpoint: Endpoint) -> None:
        raw = msgspec.json.encode(endpoint)
        await self._store.run(lambda: self._store.redis.hset(self._all, endpoint.id, raw))
