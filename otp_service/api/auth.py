"""Bearer-token checks for client and admin routes, and the webhook secret.

Every comparison is constant-time and covers every configured key, so neither the time taken nor
an early exit reveals which key (or how much of one) matched. Keys are compared as SHA-256 digests
so different lengths cost the same.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
from collections.abc import Collection, Mapping
from typing import Any

import structlog
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from ..domain.errors import NotFound
from .problems import ProblemCode, ProblemException

__all__ = ("Access", "AccessGuard", "Authenticator")


def _digest(value: str) -> bytes:
    return hashlib.sha256(value.encode()).digest()


def _bearer(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    header = connection.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


class Authenticator:
    def __init__(
        self,
        api_keys: dict[str, str],
        admin_token: str | None,
        webhook_secret: str | None,
        *,
        key_apps: Mapping[str, str] | None = None,
        public_keys: Collection[str] = (),
        admins: Mapping[str, str] | None = None,
    ) -> None:
        self._clients = [(name, _digest(secret)) for name, secret in api_keys.items()]
        self._apps = {name: (key_apps or {}).get(name, name) for name in api_keys}
        self._public = frozenset(public_keys)
        # Named admins (OTP_ADMIN_TOKENS); the single OTP_ADMIN_TOKEN is the admin called "admin".
        named = dict(admins) if admins is not None else ({"admin": admin_token} if admin_token else {})
        self._admins = [(name, _digest(secret)) for name, secret in named.items()]
        self._webhook = _digest(webhook_secret) if webhook_secret else None

    @property
    def admin_enabled(self) -> bool:
        return bool(self._admins)

    def admin_names(self) -> frozenset[str]:
        return frozenset(name for name, _ in self._admins)

    def client_for(self, token: str | None) -> str | None:
        digest = _digest(token or "")
        found = None
        for name, expected in self._clients:
            if hmac.compare_digest(digest, expected) and token is not None:
                found = name
        return found

    def app_of(self, key: str) -> str:
        """The app a key (by name) belongs to: verifications and limits are the app's."""
        return self._apps[key]

    def known_app(self, app: str) -> str:
        """``app`` itself, or :class:`NotFound` when no API key belongs to it (admin routes and pages)."""
        if app not in self._apps.values():
            raise NotFound("No app with this name.")
        return app

    def apps(self) -> dict[str, list[tuple[str, bool]]]:
        """Each app with its keys' names and ``:public`` marks (never a secret)."""
        apps: dict[str, list[tuple[str, bool]]] = {}
        for key, app in self._apps.items():
            apps.setdefault(app, []).append((key, key in self._public))
        return apps

    def is_public(self, key: str) -> bool:
        """A key shipped inside a client calling us directly: limited by the caller's own address."""
        return key in self._public

    def is_admin(self, token: str | None) -> bool:
        return self.admin_for(token) is not None

    def admin_for(self, token: str | None) -> str | None:
        """The name of the admin whose token this is (every token compared, whichever matches)."""
        digest = _digest(token or "")
        found = None
        for name, expected in self._admins:
            if hmac.compare_digest(digest, expected) and token is not None:
                found = name
        return found

    def webhook_secret_ok(self, secret: str) -> bool:
        if self._webhook is None:
            return False
        return hmac.compare_digest(_digest(secret), self._webhook)


_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="otp-service"'}


class Access(enum.StrEnum):
    """Who may call a route: a controller says ``opt = {"access": Access.CLIENT}``; no entry means anyone."""

    CLIENT = "client"
    ADMIN = "admin"


class AccessGuard:
    """The one guard, declared on the app: checks what the route's ``opt["access"]`` asks for.

    The caller's app lands in ``connection.state.client`` (routes take it as the ``client``
    dependency) and in the log context; the key's name and ``:public`` mark land next to it.
    """

    def __init__(self, auth: Authenticator) -> None:
        self._auth = auth

    async def __call__(self, connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
        access = handler.opt.get("access")
        if access is None:
            return
        token = _bearer(connection)
        if access is Access.CLIENT:
            key = self._client(token)
            client = self._auth.app_of(key)
            connection.state.key_public = self._auth.is_public(key)
            structlog.contextvars.bind_contextvars(key=key)
        else:
            client = self._admin(token)
        connection.state.client = client
        structlog.contextvars.bind_contextvars(client=client)

    def _client(self, token: str | None) -> str:
        client = self._auth.client_for(token)
        if client is None:
            raise ProblemException(ProblemCode.UNAUTHORIZED, "A valid API key is required.", headers=_CHALLENGE)
        return client

    def _admin(self, token: str | None) -> str:
        if not self._auth.admin_enabled:
            raise ProblemException(ProblemCode.NOT_FOUND, "No such resource.")
        admin = self._auth.admin_for(token)
        if admin is not None:
            return admin
        if self._auth.client_for(token) is not None:
            raise ProblemException(ProblemCode.FORBIDDEN, "This API key may not use admin endpoints.")
        raise ProblemException(ProblemCode.UNAUTHORIZED, "A valid admin token is required.", headers=_CHALLENGE)
