"""Application factory: wires settings, Redis, the provider client, the domain service and the routes.

Nothing reads the environment at import time; ``create_app()`` does it once when no settings are
passed, and tests pass their own settings, Redis client and HTTP transport.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import sys
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, cast

import httpx
import structlog
from litestar import Litestar
from litestar.datastructures import State
from litestar.enums import ScopeType
from litestar.openapi.config import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.plugins.prometheus import PrometheusConfig, PrometheusController
from litestar.types import LifeSpanReceive, LifeSpanScope, LifeSpanSend, Message, Receive, Scope, Send

from providers import ReceiptParser, build_providers, discover

from . import __version__
from .api.admin import AdminController
from .api.auth import Authenticator
from .api.health import HealthController
from .api.problems import EXCEPTION_HANDLERS
from .api.verifications import VerificationController
from .api.webhooks import WebhookController
from .devredis import RedisProcess
from .domain.breaker import Breakers
from .domain.codes import Argon2Params, CodeHasher
from .domain.dispatcher import Dispatcher
from .domain.idempotency_store import IdempotencyStore
from .domain.limits import SendLimiter
from .domain.live import LiveSettingsSource
from .domain.policy import PolicyContext, default_settings
from .domain.redis_store import AnyRedis, RedisStore
from .domain.service import OtpService
from .domain.settings_store import SettingsStore
from .domain.verification_store import VerificationStore
from .domain.windows import LimitWindows
from .http_client import make_http_client
from .logging import configure_logging
from .redis_client import make_redis
from .settings import Settings, load_settings
from .tracing import tracing_for

__all__ = ("create_app",)

log = structlog.get_logger("otp.http")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


class MetricsController(PrometheusController):
    """Prometheus text at ``/metrics``; an operations endpoint, kept out of the client API document."""

    include_in_schema = False


class OtpApp(Litestar):
    """Litestar plus one log line and a request id for every HTTP request, routed or not.

    Route middleware would miss 404s and 405s from the router, so this wraps the whole app.
    """

    async def __call__(
        self, scope: Scope | LifeSpanScope, receive: Receive | LifeSpanReceive, send: Send | LifeSpanSend
    ) -> None:
        if scope["type"] != ScopeType.HTTP:
            await super().__call__(scope, receive, send)
            return
        http = cast("dict[str, Any]", scope)
        structlog.contextvars.clear_contextvars()
        incoming = dict(http["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
            await send(message)  # type: ignore[arg-type]

        try:
            await super().__call__(scope, receive, send_with_id)
        finally:
            path: str = http.get("path_template") or http["path"][:80]
            if path.startswith("/v1/webhooks/") and "{secret" not in path:
                path = "/v1/webhooks/…"
            if not path.startswith(("/health/", "/metrics")) or status >= 400:
                log.info(
                    "request",
                    method=http["method"],
                    path=path,
                    status=status,
                    duration_ms=round((time.perf_counter() - started) * 1000, 2),
                )


def _openapi() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="otp-service",
        version=__version__,
        description="Send and check one-time codes. Contract: shared/API.md.",
        path="/schema",
        render_plugins=[JsonRenderPlugin()],
        components=Components(
            security_schemes={
                "bearer": SecurityScheme(type="http", scheme="bearer", description="API key or admin token")
            }
        ),
    )


def create_app(
    settings: Settings | None = None,
    *,
    redis: AnyRedis | None = None,
    http_transport: httpx.AsyncBaseTransport | None = None,
    argon2: Argon2Params | None = None,
    configure_logs: bool = True,
) -> Litestar:
    settings = settings or load_settings(os.environ)
    tracing = tracing_for(settings)
    if configure_logs:
        configure_logging(fmt=settings.log_format, level=settings.log_level, secrets=settings.secret_values())
    for warning in settings.warnings:
        log.warning("config.weak", detail=warning)
    if settings.generated.get("OTP_API_KEYS"):
        # Development only, printed once to the terminal (never to the structured log).
        print(f"otp-service dev API key: {settings.generated['OTP_API_KEYS']}", file=sys.stderr)
    specs = discover()
    receipt_parsers: dict[str, ReceiptParser] = {
        name: spec.receipts for name, spec in specs.items() if spec.receipts is not None
    }
    state = State(
        {
            "auth": Authenticator(settings.api_keys, settings.admin_token, settings.webhook_secret),
            "receipt_parsers": receipt_parsers,
            "trusted_proxy_hops": settings.trusted_proxy_hops,
            "settings": settings,
        }
    )

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        # The access log prints raw paths, and a webhook path holds its secret: our own request log
        # replaces it. Done here, after the ASGI server applied its own logging configuration.
        logging.getLogger("uvicorn.access").disabled = True
        own_redis = redis is None
        embedded: RedisProcess | None = None
        if redis is None:
            url = settings.redis_url
            if url is None:  # development without OTP_REDIS_URL: a private Redis, stopped with the app
                embedded = await asyncio.to_thread(RedisProcess(data_dir=".otp-dev/redis", persist=True).start)
                url = embedded.url
                log.info("redis.embedded", url=url)
            client: AnyRedis = make_redis(url, timeout_s=settings.redis_timeout_s)
        else:
            client = redis
        total = max(v.timeout_s for v in settings.vendors.values()) if settings.vendors else 5.0
        http = make_http_client(http_transport, total_timeout_s=total)
        providers = build_providers(specs, settings.vendors, http)
        ranges = {name: verifier.code_length_range for name, verifier in providers.verifiers.items()}
        ctx = PolicyContext(available_providers=frozenset(providers.names()), code_length_ranges=ranges)
        redis_store = RedisStore(client, deadline_s=2 * settings.redis_timeout_s)
        live = LiveSettingsSource(
            SettingsStore(redis_store),
            settings.live_baseline or default_settings(settings.providers),
            ctx,
            max_age_s=settings.settings_cache_s,
            baseline_source=settings.settings_file or "built-in defaults",
            defaults=default_settings(settings.providers),
        )
        live.check_defaults()
        params = argon2 or Argon2Params(settings.argon2_time_cost, settings.argon2_memory_kib)
        hasher = CodeHasher(settings.pepper, params, threads=settings.hash_threads)
        # The in-flight lock must outlive the longest possible chain (every provider timing out).
        lock_ms = int(sum(v.timeout_s for v in settings.vendors.values()) * 1000) + 5000
        app.state.otp_service = OtpService(
            store=VerificationStore(redis_store),
            idempotency=IdempotencyStore(redis_store),
            live=live,
            limiter=SendLimiter(LimitWindows(redis_store), lock_ms=lock_ms),
            dispatcher=Dispatcher(providers, Breakers()),
            hasher=hasher,
            webotp_host=settings.webotp_host,
            test_numbers_allowed=settings.is_dev or settings.test_numbers_enabled,
        )
        started = time.monotonic()
        # Names only: the client names of OTP_API_KEYS, the Redis kind (its URL may hold a password).
        structlog.get_logger("otp.service").info(
            "service.started",
            version=__version__,
            env=settings.env,
            pid=os.getpid(),
            workers=settings.workers,
            redis=settings.redis_kind,
            apps=sorted(settings.api_keys),
            providers=settings.providers,
            metrics_port=settings.metrics_port,
        )
        try:
            yield
        finally:
            await http.aclose()
            hasher.close()
            if tracing is not None:
                tracing.shutdown()
            if own_redis:
                await client.aclose()
            if embedded is not None:
                await asyncio.to_thread(embedded.stop)
            structlog.get_logger("otp.service").info(
                "service.stopped", pid=os.getpid(), uptime_s=round(time.monotonic() - started, 1)
            )

    prometheus = PrometheusConfig(
        app_name="otp-service",
        prefix="otp_http",
        group_path=True,
        exclude=["/metrics", "/health/live", "/health/ready", "/v1/webhooks"],
    )

    return OtpApp(
        route_handlers=[
            VerificationController,
            AdminController,
            WebhookController,
            HealthController,
            *([MetricsController] if settings.metrics_port is None else []),  # else on its own port (cli)
        ],
        lifespan=[lifespan],
        state=state,
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        middleware=[prometheus.middleware],
        plugins=[tracing.plugin] if tracing is not None else [],
        openapi_config=_openapi(),
        request_max_body_size=settings.max_body_bytes,
        debug=False,
    )
