"""How long a secret must be, and a good one on demand (``otp-service secret``).

A few characters of API key, admin token or webhook secret can be guessed online, and a short
pepper offline from a leaked Redis; production refuses them (development only warns). 24
characters of a random URL-safe alphabet hold about 143 bits; the pepper is an HMAC key, so it gets
the 32 bytes (256 bits) of its hash.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping

__all__ = ("MIN_PEPPER_BYTES", "MIN_SECRET_CHARS", "new_secret", "weak_secrets")

MIN_SECRET_CHARS = 24
MIN_PEPPER_BYTES = 32
_HINT = "generate one with `otp-service secret`"


def new_secret() -> str:
    """32 random bytes, URL-safe base64 (43 characters): long enough for every secret, the pepper too."""
    return secrets.token_urlsafe(32)


def weak_secrets(
    *,
    api_keys: Mapping[str, str],
    admin_token: str | None,
    webhook_secret: str | None,
    pepper: str,
    admin_tokens: Mapping[str, str] | None = None,
) -> list[str]:
    """One message per secret that is too short, naming its variable (and client), never its value."""
    found = [
        f"OTP_API_KEYS: the secret of client {name!r} is shorter than {MIN_SECRET_CHARS} characters; {_HINT}"
        for name, secret in api_keys.items()
        if len(secret) < MIN_SECRET_CHARS
    ]
    for name, value in (("OTP_ADMIN_TOKEN", admin_token), ("OTP_WEBHOOK_SECRET", webhook_secret)):
        if value and len(value) < MIN_SECRET_CHARS:
            found.append(f"{name}: shorter than {MIN_SECRET_CHARS} characters; {_HINT}")
    found += [
        f"OTP_ADMIN_TOKENS: the secret of admin {name!r} is shorter than {MIN_SECRET_CHARS} characters; {_HINT}"
        for name, secret in (admin_tokens or {}).items()
        if len(secret) < MIN_SECRET_CHARS
    ]
    if pepper and len(pepper.encode()) < MIN_PEPPER_BYTES:
        found.append(f"OTP_PEPPER: shorter than {MIN_PEPPER_BYTES} bytes; {_HINT}")
    return found
