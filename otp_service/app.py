"""Application factory: wires settings, Redis, the provider client, the domain service and the routes.

Nothing reads the environment at import time; ``create_app()`` does it once when no settings are
passed, and tests pass their own settings, Redis client and HTTP transport.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import structlog
from litestar import Litestar
from litestar.plugins.prometheus import PrometheusConfig, PrometheusController

from providers import ReceiptParser, build_providers, discover

from . import __version__
from .api.admin import AdminController
from .api.apps import AppsController
from .api.auth import AccessGuard, Authenticator
from .api.deps import dependencies
from .api.events import EventsController
from .api.fraud_admin import FraudAdminController
from .api.header_limit import HeaderLimit
from .api.health import HealthController
from .api.http_metrics import HttpMetrics
from .api.openapi import docs_assets_router, openapi_config
from .api.problems import EXCEPTION_HANDLERS
from .api.request_log import RequestLog
from .api.verifications import VerificationController
from .api.webhooks import WebhookController
from .console import SecurityHeaders, console_handlers, console_templates
from .devredis import RedisProcess
from .domain.admin_sessions import AdminSessions
from .domain.app_settings import AppSettings
from .domain.breaker import Breakers
from .domain.budgets import Budgets
from .domain.codes import Argon2Params, CodeHasher
from .domain.conversion import Conversion
from .domain.dispatcher import Dispatcher
from .domain.event_delivery import RetrySchedule
from .domain.event_endpoints import EndpointBook
from .domain.event_presence import EndpointPresence
from .domain.event_store import EventStore
from .domain.event_worker import EventWorker, WorkerConfig
from .domain.events import EventSink
from .domain.fraud import FraudGuard
from .domain.guard_events import GuardEvents
from .domain.idempotency_store import IdempotencyStore
from .domain.limits import SendLimiter
from .domain.live import LiveSettingsSource
from .domain.operations import Operations
from .domain.policy import PolicyContext, default_settings
from .domain.provider_health import ProviderHealth
from .domain.redis_store import AnyRedis, RedisStore
from .domain.service import OtpService
from .domain.settings_store import SettingsStore
from .domain.signin_limit import SignInLimit
from .domain.template_preview import TemplatePreview
from .domain.verification_store import VerificationStore
from .domain.windows import LimitWindows
from .http_client import make_http_client
from .logging import configure_logging
from .redis_client import call_deadline_s, make_redis
from .settings import Settings, load_settings
from .tracing import tracing_for

__all__ = ("create_app",)

log = structlog.get_logger("otp.http")


class MetricsController(PrometheusController):
    """Prometheus text at ``/metrics``; an operations endpoint, kept out of the client API document."""

    include_in_schema = False


def _event_worker(
    settings: Settings, store: EventStore, endpoints: EndpointBook, presence: EndpointPresence | None
) -> EventWorker | None:
    """This replica's outbound events worker, started now (None: OTP_EVENTS_WORKER=off)."""
    if not settings.events_worker:
        return None
    retry = RetrySchedule(settings.events_first_retry_s, settings.events_max_retry_s, settings.events_retry_for_s)
    config = WorkerConfig(
        retry=retry,
        timeout_s=settings.events_timeout_s,
        claim_after_s=settings.events_claim_after_s,
        poll_s=settings.events_poll_s,
    )
    worker = EventWorker(store, endpoints, config, presence)
    worker.start()
    return worker


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
    auth = Authenticator(
        settings.api_keys,
        settings.admin_token,
        settings.webhook_secret,
        key_apps=settings.key_apps,
        public_keys=settings.public_keys,
        admins=settings.admins,
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
        redis_store = RedisStore(client, deadline_s=call_deadline_s(client, settings.redis_timeout_s))
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
        app.state.app_settings = apps = AppSettings(redis_store, live, max_age_s=settings.settings_cache_s)
        limiter = SendLimiter(LimitWindows(redis_store), lock_ms=lock_ms)
        # Which apps have event endpoints, read as often as the live settings (OTP_SETTINGS_CACHE_S=0: not
        # cached, so every publish goes to Redis as it is, instead of a read before each one).
        presence = (
            EndpointPresence(redis_store, max_age_s=settings.settings_cache_s)
            if settings.settings_cache_s > 0
            else None
        )
        events = EventSink(redis_store, presence=presence)
        app.state.fraud = fraud = FraudGuard(
            Budgets(redis_store),
            Conversion(redis_store),
            shared=live.get,
            settings_for=apps.effective,
            releases=limiter.releases,
            observer=GuardEvents(events),
        )
        app.state.otp_service = service = OtpService(
            store=VerificationStore(redis_store),
            idempotency=IdempotencyStore(redis_store),
            live=live,
            limiter=limiter,
            dispatcher=Dispatcher(providers, Breakers()),
            hasher=hasher,
            webotp_host=settings.webotp_host,
            test_numbers_allowed=settings.is_dev or settings.test_numbers_enabled,
            apps=app.state.app_settings,
            check_sources=True,
            refresh_after_s=settings.receipt_refresh_after_s,
            fraud=fraud,
            events=events,
        )
        app.state.event_endpoints = EndpointBook(redis_store, presence=presence)
        app.state.event_store = EventStore(redis_store)
        worker = _event_worker(settings, app.state.event_store, app.state.event_endpoints, presence)
        app.state.operations = Operations(live, redis_store)
        # The admin console's (otp_service.console): sessions, sign-in limit, provider health, previews.
        app.state.admin_sessions = AdminSessions(redis_store)
        app.state.signin_limit = SignInLimit(redis_store)
        app.state.provider_health = ProviderHealth(service.dispatcher)
        app.state.template_preview = TemplatePreview(live, webotp_host=settings.webotp_host)
        started = time.monotonic()
        # Names only: the client names of OTP_API_KEYS, the Redis kind (its URL may hold a password).
        structlog.get_logger("otp.service").info(
            "service.started",
            version=__version__,
            env=settings.env,
            pid=os.getpid(),
            workers=settings.workers,
            redis=settings.redis_kind,
            apps=sorted(set(settings.key_apps.values())),
            providers=settings.providers,
            metrics_port=settings.metrics_port,
        )
        # Every replica sweeps the WhatsApp receipt deadlines (domain/fallback.py): one fires once, anywhere.
        stop_sweeping = asyncio.Event()
        sweeper = asyncio.create_task(service.fallback.run_sweeper(stop_sweeping), name="whatsapp-sweeper")
        try:
            yield
        finally:
            stop_sweeping.set()
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(sweeper, 10 * settings.redis_timeout_s + 1)
            if worker is not None:
                await worker.close()  # while Redis is still open to settle what it delivered
            await service.releases.close()  # while Redis is still open to take them
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
        middleware_class=HttpMetrics,
    )

    app = Litestar(
        route_handlers=[
            VerificationController,
            AdminController,
            AppsController,
            FraudAdminController,
            WebhookController,
            EventsController,
            HealthController,
            *([MetricsController] if settings.metrics_port is None else []),  # else on its own port (cli)
            docs_assets_router(),
            *console_handlers(auth, settings.pepper),
        ],
        lifespan=[lifespan],
        dependencies=dependencies(auth, receipt_parsers, settings.trusted_proxy_hops),
        guards=[AccessGuard(auth)],
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        middleware=[prometheus.middleware],
        plugins=[tracing.plugin] if tracing is not None else [],
        openapi_config=openapi_config(__version__),
        request_max_body_size=settings.max_body_bytes,
        template_config=console_templates(auth),
        debug=False,
    )
    # Outside routing, so the router's own 404s and 405s get a request id and a log line too, and
    # oversized headers are refused before any route (and logged); the console's pages get their
    # security headers even when Litestar answers for them (a CSRF refusal, a 404 under /admin).
    app.asgi_handler = RequestLog(HeaderLimit(SecurityHeaders(app.asgi_handler)))
    return app
