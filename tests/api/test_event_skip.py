"""An app without an event endpoint costs its sends and checks no call to the events slot, and what
that skipping leaves behind never reaches an endpoint created later.

On a single Redis and on a 3-master cluster, like ``test_events.py`` (whose fixtures these are).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from redis.commands.core import AsyncScript

from otp_service.domain.redis_store import RedisStore
from tests.api.helpers import check, send
from tests.api.test_events import ENDPOINTS, endpoint, receiver, service  # noqa: F401  (fixtures)
from tests.conftest import ADMIN, Vendors
from tests.events_receiver import Receiver

CACHE_S = 0.5  # OTP_SETTINGS_CACHE_S's default, which the view of the apps' endpoints follows


@pytest.fixture
def events_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The name of every script the service runs on the events slot, in order."""
    calls: list[str] = []
    original = RedisStore.script

    async def counted(self: RedisStore, script: AsyncScript, keys: Sequence[str], args: Sequence[Any]) -> Any:
        if any("{events}" in key for key in keys):
            names = {getattr(self.scripts, name).sha: name for name in self.scripts.__dataclass_fields__}
            calls.append(names.get(script.sha, "?"))
        return await original(self, script, keys, args)

    monkeypatch.setattr(RedisStore, "script", counted)
    return calls


@pytest.fixture
def second_receiver() -> Iterator[Receiver]:
    server = Receiver().up()
    yield server
    server.down()


async def test_without_an_endpoint_a_send_and_its_approval_make_no_call_to_the_events_slot(
    service: Any,  # noqa: F811
    vendors: Vendors,
    events_calls: list[str],
    redis: Any,
) -> None:
    async with service(OTP_EVENTS_WORKER="off") as client:  # only the requests touch the events slot
        await send(client, "+34600100201")  # this process reads which apps have endpoints
        await check(client, vendors.last_code(), to="+34600100201")
        await send(client)
        assert (await check(client, vendors.last_code())).json()["valid"] is True
    assert "event_publish" not in events_calls
    assert set(events_calls) <= {"event_presence"} and len(events_calls) <= 3  # about once per CACHE_S
    assert await redis.exists("otp:{events}:deadlines", "otp:{events}:stream") == 0


async def test_an_endpoint_created_on_another_replica_receives_the_next_send_within_the_cache_period(
    service: Any,  # noqa: F811
    receiver: Receiver,  # noqa: F811
) -> None:
    async with service() as one, service() as other:
        await send(other, "+34600100201")  # the other replica now knows the app has no endpoint
        await endpoint(one, receiver.url)
        await asyncio.sleep(CACHE_S + 0.3)
        vid = (await send(other)).json()["id"]
        await receiver.until(lambda: "verification.created" in receiver.types_for(vid))


async def test_an_approval_skipped_after_its_endpoint_was_deleted_never_expires_to_a_new_endpoint(
    service: Any,  # noqa: F811
    receiver: Receiver,  # noqa: F811
    second_receiver: Receiver,
    vendors: Vendors,
    redis: Any,
) -> None:
    async with service() as client:
        first = await endpoint(client, receiver.url)
        vid = (await send(client)).json()["id"]
        assert (await client.delete(f"{ENDPOINTS}/{first['id']}", headers=ADMIN)).status_code == 204
        assert (await check(client, vendors.last_code())).json()["valid"] is True
        assert await redis.zscore("otp:{events}:deadlines", vid) is not None  # the approval was skipped
        await asyncio.sleep(0.3)
        await endpoint(client, second_receiver.url)
        await redis.zadd("otp:{events}:deadlines", {vid: 1})  # its expiry is long past
        for _ in range(100):
            if await redis.zscore("otp:{events}:deadlines", vid) is None:
                break
            await asyncio.sleep(0.05)
        assert await redis.zscore("otp:{events}:deadlines", vid) is None  # swept
        vid2 = (await send(client, "+34600100201")).json()["id"]  # delivered after anything the sweep added
        await second_receiver.until(lambda: "verification.created" in second_receiver.types_for(vid2))
        await asyncio.sleep(0.3)
    assert second_receiver.types_for(vid) == []
