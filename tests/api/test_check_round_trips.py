"""A check's Redis round trips: one script charges it before the code is judged (the end user's
failure slot with the attempt), one settles it after; a check that is no failure gives the end
user's slot back inside those calls, never in a round trip of its own."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
import structlog

from otp_service.domain.policy import LiveSettings
from otp_service.domain.redis_store import RedisStore
from tests.api.helpers import Client, assert_problem, check, send, wrong
from tests.conftest import Vendors


@dataclasses.dataclass
class RoundTrips:
    scripts: list[str] = dataclasses.field(default_factory=list)  # by name, in order
    commands: list[str] = dataclasses.field(default_factory=list)  # every command sent (EVALSHA for a script)


async def watch_the_check(client: Client, monkeypatch: pytest.MonkeyPatch) -> RoundTrips:
    """Every Redis call a request makes from here on (the app's background workers share the store,
    and are not counted), but the first read of the settings: their cache must not decide what is
    counted. (The app runs on the test client's own loop: the test itself does not call Redis.) A
    check before it has loaded the scripts into Redis (``SCRIPT LOAD`` on first use only)."""
    service = client.app.state.otp_service
    store: RedisStore = service.store.redis_store
    names = {getattr(store.scripts, f.name).sha: f.name for f in dataclasses.fields(store.scripts)}
    seen = RoundTrips()
    read_settings, execute, script = service._settings, store.redis.execute_command, store.script
    cached: list[LiveSettings] = []

    def counts() -> bool:
        return bool(cached) and "request_id" in structlog.contextvars.get_contextvars()

    async def settings(client: str) -> LiveSettings:
        if not cached:
            cached.append(await read_settings(client))
        return cached[0]

    async def counted_command(*args: Any, **options: Any) -> Any:
        if counts():
            seen.commands.append(str(args[0]).upper())
        return await execute(*args, **options)

    async def named_script(which: Any, keys: Any, args: Any) -> Any:
        if counts():
            seen.scripts.append(names[which.sha])
        return await script(which, keys, args)

    monkeypatch.setattr(service, "_settings", settings)
    monkeypatch.setattr(store.redis, "execute_command", counted_command)
    monkeypatch.setattr(store, "script", named_script)
    return seen


async def test_a_wrong_check_is_two_script_calls(
    client: Client, vendors: Vendors, monkeypatch: pytest.MonkeyPatch
) -> None:
    await send(client)
    assert (await check(client, wrong(vendors.last_code()))).json()["valid"] is False
    seen = await watch_the_check(client, monkeypatch)
    assert (await check(client, wrong(vendors.last_code()))).json()["valid"] is False
    assert seen.scripts == ["take_attempt", "finish_check"]
    assert seen.commands == ["EVALSHA", "EVALSHA"]


async def test_a_right_check_settles_in_the_same_two_script_calls(
    client: Client, vendors: Vendors, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The approval gives the end user's slot back inside ``finish_check``; what follows it is the
    conversion guard counting the approval (``fraud.py``), not the check."""
    await send(client)
    assert (await check(client, wrong(vendors.last_code()))).json()["valid"] is False
    seen = await watch_the_check(client, monkeypatch)
    assert (await check(client, vendors.last_code())).json()["valid"] is True
    assert seen.scripts[:2] == ["take_attempt", "finish_check"]
    assert "take_attempt" not in seen.scripts[2:] and "finish_check" not in seen.scripts[2:]
    assert "ZREM" not in seen.commands


async def test_a_check_for_a_number_with_nothing_pending_is_one_script_call(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert_problem(await check(client, "123456"), 404, "not_found")
    seen = await watch_the_check(client, monkeypatch)
    assert_problem(await check(client, "123456"), 404, "not_found")
    assert seen.scripts == ["take_attempt"]
    assert seen.commands == ["EVALSHA"]  # the end user's slot was never kept: no ZREM to give it back
