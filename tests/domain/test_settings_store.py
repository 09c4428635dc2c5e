"""Live settings and their audit log (SettingsStore), against a real Redis server."""

from __future__ import annotations

import json

from otp_service.domain.settings_store import SettingsStore


async def test_settings_swap_is_compare_and_set(settings_store: SettingsStore) -> None:
    assert await settings_store.load() is None
    doc1 = json.dumps({"version": 1, "settings": {}}).encode()
    assert await settings_store.swap(0, doc1, [b'{"field":"a"}']) is True
    assert await settings_store.swap(0, doc1, [b'{"field":"b"}']) is False  # lost the race: nothing written
    assert await settings_store.load() == doc1
    assert await settings_store.audit_log(10) == [b'{"field":"a"}']
