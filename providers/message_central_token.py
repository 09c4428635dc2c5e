"""Message Central's token: ``GET /auth/v1/authentication/token`` and how long a token is kept.

Why (vendor docs v3: https://messagecentral.com/en-in/product/verify-now/api-india): the token call takes
``customerId``, ``key`` (Base64 of the password), ``scope=NEW`` and optionally ``country`` and ``email``,
and answers ``{"status": Integer, "token": "String"}`` [doc]. Its lifetime is undocumented; tokens are
HS512 JWTs [code], so ``exp`` is read (never verified) and the token reused until shortly before it.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import TYPE_CHECKING

import httpx
import msgspec

from . import _http
from ._token import Grant
from .base import ProviderAuthError, ProviderProtocolError, ProviderUnavailable

if TYPE_CHECKING:
    from .message_central import MessageCentralSettings

__all__ = ("fetch_token", "grant")

NAME = "message_central"
TOKEN_PATH = "/auth/v1/authentication/token"  # noqa: S105 (a path, not a password)
REFRESH_MARGIN_S = 300.0  # renew this long before the JWT's exp
FALLBACK_TOKEN_TTL_S = 3600.0  # for a token whose exp cannot be read [guess]
_ACCEPT = {"accept": "*/*"}
Clock = Callable[[], float]


class _Claims(msgspec.Struct):
    exp: float | None = None


class _TokenReply(msgspec.Struct):
    status: int | None = None
    token: str | None = None
    error: str | None = None


_TOKEN = msgspec.json.Decoder(_TokenReply)
_CLAIMS = msgspec.json.Decoder(_Claims)


def _jwt_exp(token: str) -> float | None:
    """The ``exp`` claim of a JWT, read without verifying the signature (not ours to verify)."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        payload = base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4))
        return _CLAIMS.decode(payload).exp
    except (binascii.Error, ValueError, *_http.UNREADABLE):
        return None


def grant(token: str, now: float) -> Grant:
    """Keep a token until shortly before its ``exp``, or an hour when it has none we can read."""
    exp = _jwt_exp(token)
    if exp is None:
        return Grant(token, FALLBACK_TOKEN_TTL_S)
    left = exp - now  # short-lived tokens are kept for half their remaining life rather than not at all
    return Grant(token, max(0.0, left - min(REFRESH_MARGIN_S, left / 2)))


async def fetch_token(settings: MessageCentralSettings, client: httpx.AsyncClient, clock: Clock) -> Grant:
    s = settings
    if not s.password:
        raise ProviderAuthError(NAME, "auth token refused or expired, and no password to renew it")
    key = base64.b64encode(s.password.encode()).decode("ascii")
    params = {"customerId": s.customer_id, "key": key, "scope": "NEW", "email": s.email, "country": s.country}
    url, params = s.base_url.rstrip("/") + TOKEN_PATH, {k: v for k, v in params.items() if v}
    response = await _http.call(client, NAME, s, "GET", url, delivers=False, params=params, headers=_ACCEPT)
    status = response.status_code
    if _http.unavailable(status):
        raise ProviderUnavailable(NAME, f"token: HTTP {status}", status_code=status)
    try:
        reply = _TOKEN.decode(response.content)
    except _http.UNREADABLE:
        error = ProviderAuthError if status >= 300 else ProviderProtocolError
        raise error(NAME, f"token: unexpected reply (HTTP {status})", status_code=status) from None
    if status < 300 and reply.status == 200 and reply.token:
        return grant(reply.token, clock())
    reason = _http.scrub(reply.error or "no token", secrets=(*s.secrets(), key))[:80]
    vendor_code = None if reply.status is None else str(reply.status)
    raise ProviderAuthError(NAME, f"token refused: {reason}", status_code=status, vendor_code=vendor_code)
