"""Optional OpenTelemetry tracing: spans reach an OTLP endpoint when configured; nothing loads otherwise."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar.testing import AsyncTestClient

from tests.api.helpers import send
from tests.conftest import WEBHOOK_SECRET, Vendors, build_app, make_settings
from tests.server import ServerThread


class Collector:
    """A stand-in OTLP/HTTP collector: records the path of every export it receives."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, bytes]] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
                message = await receive()
            await send({"type": "lifespan.shutdown.complete"})
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        self.posts.append((scope["path"], body))
        await send(
            {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/x-protobuf")]}
        )
        await send({"type": "http.response.body", "body": b""})


async def test_spans_are_exported_when_an_endpoint_is_set(redis_server, redis, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    collector = Collector()
    server = ServerThread(collector).start()  # type: ignore[arg-type]
    try:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", server.url)
        settings = make_settings(OTP_REDIS_URL=redis_server.url, OTEL_EXPORTER_OTLP_ENDPOINT=server.url)
        async with AsyncTestClient(build_app(settings, Vendors())) as client:
            assert (await send(client)).status_code == 201
            await client.post(f"/v1/webhooks/gatum/{WEBHOOK_SECRET}", content=b"[]")
        for _ in range(50):
            if collector.posts:
                break
            await asyncio.sleep(0.05)
        assert [path for path, _ in collector.posts] and all(p == "/v1/traces" for p, _ in collector.posts)
        exported = b"".join(body for _, body in collector.posts)
        assert b"/v1/verifications" in exported
        assert WEBHOOK_SECRET.encode() not in exported  # webhook paths are never traced
    finally:
        server.stop()


def test_tracing_is_off_and_adds_nothing_when_no_endpoint_is_set() -> None:
    from litestar.plugins.opentelemetry import OpenTelemetryPlugin

    from otp_service.app import create_app

    app = create_app(make_settings(), configure_logs=False)
    assert not any(isinstance(plugin, OpenTelemetryPlugin) for plugin in app.plugins)
    assert not any("OpenTelemetry" in repr(m) for m in app.middleware)
