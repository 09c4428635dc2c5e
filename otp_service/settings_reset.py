"""``otp-service settings reset``: the live settings document rewritten from the baseline.

Run from any machine with the service's environment; it reaches Redis the way the service does and
writes through the same compare-and-set as ``PUT /v1/admin/settings`` (with an audit entry naming
the CLI and the operating-system user), so it works whatever the stored document holds.
"""

from __future__ import annotations

import getpass

from .domain.errors import StoreUnavailable
from .domain.live import LiveSettingsSource
from .domain.policy import PolicyContext, SettingsPatch, default_settings
from .domain.redis_store import RedisStore
from .domain.settings_store import SettingsStore
from .redis_client import call_deadline_s, make_redis
from .settings import Settings

__all__ = ("reset",)


def _who() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no user name for this uid (a bare container)
        return "cli"


async def reset(settings: Settings) -> int:
    """The version written; ValueError with a line for the operator when Redis does not answer."""
    assert settings.redis_url is not None
    client = make_redis(settings.redis_url, timeout_s=settings.redis_timeout_s)
    try:
        store = RedisStore(client, deadline_s=call_deadline_s(client, settings.redis_timeout_s))
        # The baseline was checked against the configured providers when the settings were loaded.
        ctx = PolicyContext(available_providers=frozenset(settings.vendors) | frozenset(settings.providers))
        live = LiveSettingsSource(
            SettingsStore(store),
            settings.live_baseline or default_settings(settings.providers),
            ctx,
            baseline_source=settings.settings_file or "built-in defaults",
            defaults=default_settings(settings.providers),
        )
        try:
            await live.replace(SettingsPatch(), admin=_who())
        except StoreUnavailable:
            raise ValueError(f"OTP_REDIS_URL: Redis ({settings.redis_kind}) did not answer") from None
        return live.version
    finally:
        await client.aclose()
