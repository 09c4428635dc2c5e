"""Production logs say when the service started (what it runs with) and when it stopped, never a secret."""

from __future__ import annotations

import json

import pytest
from litestar.testing import AsyncTestClient

from tests.conftest import ADMIN_TOKEN, API_KEY, MOBILE_KEY, PEPPER, WEBHOOK_SECRET, Vendors, build_app, make_settings
from tests.fakes import gatum


async def test_start_and_stop_are_logged_with_names_only(
    redis_server,
    redis,
    vendors: Vendors,
    capsys: pytest.CaptureFixture[str],  # type: ignore[no-untyped-def]
) -> None:
    url = redis_server.url.replace("redis://", "redis://:url-password-0123456789@")
    settings = make_settings(OTP_REDIS_URL=url, OTP_PROVIDERS="gatum,wavy", OTP_WORKERS="3")
    capsys.readouterr()
    async with AsyncTestClient(build_app(settings, vendors)):
        started_only = capsys.readouterr().err
    stopped_too = started_only + capsys.readouterr().err
    events = [json.loads(line) for line in stopped_too.splitlines() if line.startswith("{")]
    names = [event["event"] for event in events]
    assert names.count("service.started") == 1
    assert names.count("service.stopped") == 1
    assert "service.stopped" not in started_only
    started = next(event for event in events if event["event"] == "service.started")
    assert started["version"]
    assert started["workers"] == 3
    assert started["redis"] == "single"
    assert started["apps"] == ["mobile", "web"]
    assert started["providers"] == ["gatum", "wavy"]
    assert started["env"] == "production"
    for secret in (API_KEY, MOBILE_KEY, ADMIN_TOKEN, WEBHOOK_SECRET, PEPPER, gatum.PASSWORD, "url-password-0123456789"):
        assert secret not in stopped_too, secret


@pytest.mark.parametrize(
    ("url", "kind"),
    [(None, "embedded"), ("unix:///run/redis.sock", "unix"), ("redis+cluster://10.0.0.1:7000", "cluster")],
)
def test_the_redis_kind_is_named_without_its_url(url: str | None, kind: str) -> None:
    from otp_service.settings import load_settings

    environ = {"OTP_ENV": "dev"} if url is None else {"OTP_ENV": "dev", "OTP_REDIS_URL": url}
    assert load_settings(environ).redis_kind == kind
