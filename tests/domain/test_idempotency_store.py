"""Idempotency-Key entries (IdempotencyStore), against a real Redis server."""

from __future__ import annotations

import pytest

from otp_service.domain.errors import StoreUnavailable
from otp_service.domain.idempotency_store import IdempotencyState, IdempotencyStore

from .stores import PHONE


async def test_idempotency_entry_lifecycle(idempotency: IdempotencyStore) -> None:
    assert await idempotency.begin(PHONE, "d1", "fp-a", 60_000, token="t1") == (IdempotencyState.NEW, "")
    assert await idempotency.begin(PHONE, "d1", "fp-a", 60_000, token="t2") == (IdempotencyState.BUSY, "fp-a")
    await idempotency.abort(PHONE, "d1", token="t2")  # not its claim: stays
    assert (await idempotency.begin(PHONE, "d1", "fp-a", 60_000, token="t3"))[0] is IdempotencyState.BUSY
    await idempotency.abort(PHONE, "d1", token="t1")
    assert await idempotency.begin(PHONE, "d1", "fp-a", 60_000, token="t4") == (IdempotencyState.NEW, "")
    await idempotency.commit(PHONE, "d1", b'{"id":"vf_1"}', 60_000)
    assert await idempotency.begin(PHONE, "d1", "fp-a", 60_000, token="t5") == (IdempotencyState.DONE, '{"id":"vf_1"}')
    await idempotency.abort(PHONE, "d1", token="t4")  # finished: an abort arriving late keeps the document
    assert (await idempotency.begin(PHONE, "d1", "fp-a", 60_000, token="t6"))[0] is IdempotencyState.DONE


async def test_a_claim_that_arrives_after_its_abort_claims_nothing(idempotency: IdempotencyStore) -> None:
    """A request whose claim reached a stalled Redis answers 503 and gives the claim back; the claim may
    run after that when Redis wakes up, and must not leave the key "still being processed"."""
    await idempotency.abort(PHONE, "d1", token="late")
    with pytest.raises(StoreUnavailable):
        await idempotency.begin(PHONE, "d1", "fp-a", 60_000, token="late")
    assert await idempotency.begin(PHONE, "d1", "fp-a", 60_000, token="retry") == (IdempotencyState.NEW, "")


async def test_an_abort_retried_late_never_drops_a_newer_claim_with_the_same_body(
    idempotency: IdempotencyStore,
) -> None:
    assert (await idempotency.begin(PHONE, "d1", "fp-a", 60_000, token="first"))[0] is IdempotencyState.NEW
    await idempotency.abort(PHONE, "d1", token="first")
    assert (await idempotency.begin(PHONE, "d1", "fp-a", 60_000, token="second"))[0] is IdempotencyState.NEW
    await idempotency.abort(PHONE, "d1", token="first")  # the first request's give-back, retried
    assert await idempotency.begin(PHONE, "d1", "fp-a", 60_000, token="third") == (IdempotencyState.BUSY, "fp-a")
