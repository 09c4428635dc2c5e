"""Optional OpenTelemetry tracing: on when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set, absent otherwise.

When the variable is unset nothing from OpenTelemetry is imported, so tracing costs nothing. When set,
spans go to the OTLP/HTTP exporter (which reads the standard ``OTEL_*`` variables itself). Webhook
routes are never traced: their path holds the webhook secret, and span attributes record paths.
Set without the ``otel`` extra installed, the settings refuse to load with a clear message (a
cluster may inject this standard variable into every container).
"""

from __future__ import annotations

from typing import Any

from .config.values import OTEL_MISSING
from .settings import ConfigErrors, Settings

__all__ = ("Tracing", "tracing_for")

EXCLUDED = ["/v1/webhooks", "/health", "/metrics", "/schema"]


class Tracing:
    def __init__(self, plugin: Any, provider: Any) -> None:
        self.plugin = plugin
        self._provider = provider

    def shutdown(self) -> None:
        """Flush what is buffered; called when the app stops."""
        self._provider.shutdown()


def tracing_for(settings: Settings) -> Tracing | None:
    if not settings.otel_endpoint:
        return None
    try:
        from litestar.plugins.opentelemetry import OpenTelemetryConfig, OpenTelemetryPlugin
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError as exc:
        raise ConfigErrors([OTEL_MISSING]) from exc  # load_settings reports this first; kept for direct callers
    resource = Resource.create({"service.name": settings.otel_service_name})
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    plugin = OpenTelemetryPlugin(OpenTelemetryConfig(tracer_provider=provider, exclude=EXCLUDED))
    return Tracing(plugin, provider)
