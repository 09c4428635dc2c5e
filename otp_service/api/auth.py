"""Bearer-token guards for client, admin and webhook routes.

Every comparison is constant-time and covers every configured key, so neither the time taken nor
an early exit reveals which key (or how much of one) matched. Keys are compared as SHA-256 digests
so different lengths cost the same.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import structlog
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from .problems import ProblemException

__all__ = ("Authenticator", "admin_guard", "client_guard")


def _digest(value: str) -> bytes:
    return hashlib.sha256(value.encode()).digest()


def _bearer(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    header = connection.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


class Authenticator:
    def __init__(self, api_keys: dict[str, str], admin_token: str | None, webhook_secret: str | None) -> None:
        self._clients = [(name, _digest(secret)) for name, secret in api_keys.items()]
        self._admin = _digest(admin_token) if admin_token else None
        self._webhook = _digest(webhook_secret) if webhook_secret else None

    @property
    def admin_enabled(self) -> bool:
        return self._admin is not None

    def client_for(self, token: str | None) -> str | None:
        digest = _digest(token or "")
        found = None
        for name, expected in self._clients:
            if hmac.compare_digest(digest, expected) and token is not None:
                found = name
        return found

    def is_admin(self, token: str | None) -> bool:
        if self._admin is None or token is None:
            return False
        return hmac.compare_digest(_digest(token), self._admin)

    def webhook_secret_ok(self, secret: str) -> bool:
        if self._webhook is None:
            return False
        return hmac.compare_digest(_digest(secret), self._webhook)


_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="otp-service"'}


async def client_guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    auth: Authenticator = connection.app.state.auth
    client = auth.client_for(_bearer(connection))
    if client is None:
        raise ProblemException(401, "unauthorized", "A valid API key is required.", headers=_CHALLENGE)
    connection.state.client = client
    structlog.contextvars.bind_contextvars(client=client)


async def admin_guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    auth: Authenticator = connection.app.state.auth
    if not auth.admin_enabled:
        raise ProblemException(404, "not_found", "No such resource.")
    token = _bearer(connection)
    if auth.is_admin(token):
        connection.state.client = "admin"
        structlog.contextvars.bind_contextvars(client="admin")
        return
    if auth.client_for(token) is not None:
        raise ProblemException(403, "forbidden", "This API key may not use admin endpoints.")
    raise ProblemException(401, "unauthorized", "A valid admin token is required.", headers=_CHALLENGE)
