"""The OpenAPI document as committed: generated from an app built with fixed, secret-free settings."""

from __future__ import annotations

import json

import msgspec

__all__ = ("openapi_document",)

_DOC_ENV = {
    "OTP_ENV": "production",
    "OTP_REDIS_URL": "redis://localhost:6379/0",
    "OTP_PEPPER": "documentation-only-pepper-000000",
    "OTP_API_KEYS": "docs:documentation-only-key-000000",
    "OTP_ADMIN_TOKEN": "documentation-only-admin-000000",
    "OTP_PROVIDERS": "gatum",
    "GATUM_USERNAME": "docs",
    "GATUM_PASSWORD": "docs",
    "GATUM_SENDER": "Docs",
}


def openapi_document() -> str:
    from .app import create_app
    from .settings import load_settings

    app = create_app(load_settings(_DOC_ENV), configure_logs=False)
    schema = msgspec.to_builtins(app.openapi_schema.to_schema())
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
