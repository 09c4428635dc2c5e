"""Idempotency-Key entries (IdempotencyStore), against a real Redis server."""

from __future__ import annotations

from otp_service.domain.idempotency_store import IdempotencyState, IdempotencyStore

from .stores import PHONE


async def test_idempotency_entry_lifecycle(idempotency: IdempotencyStore) -> None:
    assert await idempotency.begin(PHONE, "d1", "fp-a", 60_000) == (IdempotencyState.NEW, "")
    assert await idempotency.begin(PHONE, "d1", "fp-a", 60_000) == (IdempotencyState.BUSY, "fp-a")
    await idempotency.abort(PHONE, "d1", "fp-other")  # not ours: stays
    assert (await idempotency.begin(PHONE, "d1", "fp-a", 60_000))[0] is IdempotencyState.BUSY
    await idempotency.abort(PHONE, "d1", "fp-a")
    assert await idempotency.begin(PHONE, "d1", "fp-a", 60_000) == (IdempotencyState.NEW, "")
    await idempotency.commit(PHONE, "d1", b'{"id":"vf_1"}', 60_000)
    assert await idempotency.begin(PHONE, "d1", "fp-a", 60_000) == (IdempotencyState.DONE, '{"id":"vf_1"}')
