"""Live settings and their audit log (SettingsStore), against a real Redis server."""

from __future__ import annotations

import json

from redis.asyncio import Redis

from otp_service.domain.settings_document import digest
from otp_service.domain.settings_store import WRONG_TYPE, SettingsStore
from tests.domain.stores import KEYS


async def test_settings_swap_is_compare_and_set_on_the_stored_bytes(settings_store: SettingsStore) -> None:
    assert await settings_store.load() is None
    doc1 = json.dumps({"version": 1, "settings": {}}).encode()
    assert await settings_store.swap("", doc1, [b'{"field":"a"}']) is True
    assert await settings_store.swap("", doc1, [b'{"field":"b"}']) is False  # lost the race: nothing written
    assert await settings_store.load() == doc1
    assert await settings_store.audit_log(10) == [b'{"field":"a"}']
    garbage = b"\xff{not json"
    assert await settings_store.swap(digest(doc1), garbage, []) is True
    assert await settings_store.swap(digest(doc1), doc1, []) is False
    assert await settings_store.swap(digest(garbage), doc1, []) is True  # garbage can be replaced, knowingly


async def test_a_key_of_another_type_reads_as_wrong_type_and_can_be_replaced(
    settings_store: SettingsStore, redis: Redis
) -> None:
    await redis.hset(KEYS.settings, "version", "3")  # type: ignore[misc]
    assert await settings_store.load() == WRONG_TYPE
    assert await settings_store.swap("", b"{}", []) is False
    assert await settings_store.swap("wrongtype", b"{}", []) is True
    assert await settings_store.load() == b"{}"
