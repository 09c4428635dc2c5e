"""The OpenAPI document's settings and the docs page at ``/schema``, which works without internet access.

Litestar's render plugins load Swagger UI from a CDN by default; here its files come from the
``swagger-ui-bundle-v2`` package and are served by the app itself under ``/schema/assets``. The page
embeds the document, so it needs nothing else.

:class:`ApiOperation` is the operation class of every route: Litestar's ``ResponseSpec`` cannot
carry headers, so it adds the documented headers of each problem response (``Retry-After`` on 429
and 503, ``WWW-Authenticate`` on 401) and the ``x-request-id`` every response carries.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from litestar import Router
from litestar.openapi.config import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, SwaggerRenderPlugin
from litestar.openapi.spec import Components, OpenAPIHeader, OpenAPIResponse, Operation, Schema, SecurityScheme, Tag
from litestar.openapi.spec.enums import OpenAPIType
from litestar.static_files import create_static_files_router
from swagger_ui_bundle import swagger_ui_path

from .problems import PROBLEM_MEDIA_TYPE, problem_headers

__all__ = ("ASSETS_PATH", "ApiOperation", "docs_assets_router", "openapi_config")

ASSETS_PATH = "/schema/assets"

_REQUEST_ID = OpenAPIHeader(
    schema=Schema(type=OpenAPIType.STRING, max_length=64),
    description="The caller's `X-Request-ID` when it is plain and at most 64 characters, else a new id; "
    "every log line of the request carries it.",
)
_HEADERS = {
    "Retry-After": OpenAPIHeader(
        schema=Schema(type=OpenAPIType.INTEGER, minimum=1),
        description="Whole seconds to wait before trying again.",
        required=True,
    ),
    "WWW-Authenticate": OpenAPIHeader(
        schema=Schema(type=OpenAPIType.STRING),
        description='The bearer challenge: `Bearer realm="otp-service"`.',
        required=True,
    ),
}

_TAGS = [
    Tag(name="verifications", description="Send and check codes: the client API."),
    Tag(name="admin", description="Live settings and their audit log (admin token); leave out of client SDKs."),
    Tag(name="webhooks", description="Delivery receipts posted by SMS vendors; leave out of client SDKs."),
    Tag(name="operations", description="Liveness and readiness probes."),
]


@dataclass
class ApiOperation(Operation):
    def __post_init__(self) -> None:
        for status, response in (self.responses or {}).items():
            if not isinstance(response, OpenAPIResponse):
                continue
            headers = dict(response.headers or {})
            headers["x-request-id"] = _REQUEST_ID
            if status.isdigit() and PROBLEM_MEDIA_TYPE in (response.content or {}):
                headers.update({name: _HEADERS[name] for name in problem_headers(int(status))})
            response.headers = headers


def openapi_config(version: str) -> OpenAPIConfig:
    assets = ASSETS_PATH
    swagger = SwaggerRenderPlugin(
        path="/swagger",
        js_url=f"{assets}/swagger-ui-bundle.js",
        css_url=f"{assets}/swagger-ui.css",
        standalone_preset_js_url=f"{assets}/swagger-ui-standalone-preset.js",
        favicon=f"<link rel='icon' type='image/png' href='{assets}/favicon-32x32.png'>",
    )
    return OpenAPIConfig(
        title="otp-service",
        version=version,
        description="Send and check one-time codes. Contract: docs/api.md.",
        path="/schema",
        render_plugins=[swagger, JsonRenderPlugin()],  # the first one also answers at /schema
        tags=_TAGS,
        components=Components(
            security_schemes={
                "bearer": SecurityScheme(type="http", scheme="bearer", description="API key or admin token")
            }
        ),
    )


def docs_assets_router() -> Router:
    """Swagger UI's own files, from the installed package."""
    return create_static_files_router(path=ASSETS_PATH, directories=[Path(str(swagger_ui_path))], name="docs-assets")
