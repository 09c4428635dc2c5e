"""The conversion guard's holds reach the apps as signed ``prefix.held`` / ``prefix.released`` events."""

from __future__ import annotations

from typing import Any

from tests.api.helpers import Client, send
from tests.api.test_events import endpoint, receiver, service  # noqa: F401  (fixtures)
from tests.conftest import ADMIN
from tests.events_receiver import Receiver

PREFIX = "+44740012"
RANGE = [f"{PREFIX}{i:04d}" for i in range(40)]


def prefix_events(received: Receiver) -> list[dict[str, Any]]:
    return [r.payload for r in received.accepted() if r.payload["type"].startswith("prefix.")]


async def test_a_held_prefix_and_its_release_are_signed_events_without_a_number(
    service: Any,  # noqa: F811
    receiver: Receiver,  # noqa: F811
) -> None:
    async with service() as client:
        client_: Client = client
        secret = (await endpoint(client_, receiver.url, types=["prefix.held", "prefix.released"]))["secret"]
        for number in RANGE[:20]:
            await send(client_, number)
        await receiver.until(lambda: len(prefix_events(receiver)) >= 1)
        released = await client_.delete(f"/v1/admin/holds/{PREFIX.replace('+', '%2B')}", headers=ADMIN)
        assert released.status_code == 200, released.text
        await receiver.until(lambda: len(prefix_events(receiver)) >= 2)
    held, freed = prefix_events(receiver)[:2]
    assert held["type"] == "prefix.held" and freed["type"] == "prefix.released"
    assert held["data"]["prefix"] == PREFIX and held["data"]["country"] == "GB"
    assert held["data"]["until"] and freed["data"]["until"] is None
    verified = receiver.verified(secret)
    assert all(payload["type"].startswith("prefix.") for payload in verified)  # only the types asked for
    raw = b"".join(r.body for r in receiver.accepted())
    assert b"740012000" not in raw  # no number, only the prefix
