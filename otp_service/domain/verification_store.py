"""Verification records in Redis: commit a send, spend and settle check attempts, cancel, read,
delivery receipts, and the indexes from our id and the vendor's message ids.

A number has at most one live verification (``cur`` points at it); its record stays readable for
``RETAIN_MS`` after it finishes. Attempts are charged before a code is verified (``take_attempt``)
and settled after (``finish_check``), so concurrent guesses can never spend more than the budget.
A check that must not count (the code was never judged, or the request answered 503) is given back
by its token (``release_check``), safely in any order with the charge it undoes (see ``redis_store``).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from typing import Any

import msgspec

from .check_sources import SourceBudget
from .errors import StoreUnavailable
from .models import Verification
from .redis_store import TOKEN_TTL_MS, RedisStore, as_text

__all__ = ("RETAIN_MS", "CheckVerdict", "FinishOutcome", "TakeOutcome", "Taken", "VerificationStore")

RETAIN_MS = 24 * 3600 * 1000  # a finished verification stays readable this long


class TakeOutcome(enum.StrEnum):
    """What ``take_attempt.lua`` answered (its return strings, unchanged)."""

    OK = "ok"  # one attempt spent
    MISSING = "missing"  # no live verification (or not the one asked for), or a released token
    BUDGET = "budget"  # the number's failed-check window is full: nothing spent
    SOURCE_BUDGET = "source_budget"  # the end user's own window is full: nothing spent


class CheckVerdict(enum.StrEnum):
    """What a check found, as ``finish_check.lua`` takes it."""

    APPROVED = "approved"
    WRONG = "wrong"
    EXPIRED = "expired"  # the vendor says its side is dead
    LOCKED = "locked"  # the vendor stopped accepting attempts


class FinishOutcome(enum.StrEnum):
    """What ``finish_check.lua`` answered (its return strings, unchanged)."""

    APPROVED = "approved"
    WRONG = "wrong"  # still pending, with attempts left
    DEAD = "dead"  # no attempts left: max_attempts_reached
    MISSING = "missing"  # finished, replaced or expired meanwhile, or this check was released


class Taken(msgspec.Struct, frozen=True):
    outcome: TakeOutcome
    id: str = ""
    gen: str = ""
    attempts_left: int = 0
    code_length: int = 0
    wait_ms: int = 0
    mode: str = ""
    provider: str = ""
    reference: str = ""
    code_hash: str = ""


def _verification(raw: dict[Any, Any]) -> Verification:
    return msgspec.convert({as_text(k): as_text(v) for k, v in raw.items()}, Verification, strict=False)


class VerificationStore:
    """Every method is one round trip (one script, one command or one pipeline)."""

    def __init__(self, store: RedisStore) -> None:
        self._store = store
        self._keys = store.keys
        self._scripts = store.scripts

    @property
    def redis_store(self) -> RedisStore:
        return self._store

    async def ping(self) -> bool:
        return await self._store.ping()

    # -- sending ------------------------------------------------------------------------------
    async def commit_send(
        self,
        phone: str,
        vid: str,
        *,
        fresh: bool,
        ttl_ms: int,
        cooldown_ms: int,
        lock_token: str,
        max_attempts: int,
        fields: dict[str, str | int],
        app: str = "",
    ) -> Verification | None:
        """Store the new code (or replace the live one) and return the record as stored (no second
        round trip to read it back); None when the live one finished meanwhile."""
        k = self._keys
        keys = [
            k.current(phone, app),
            k.record(phone, vid),
            k.cooldown(phone),
            k.sending(phone),
            k.token(phone, lock_token),
        ]
        flat: list[str | int] = []
        for name, value in fields.items():
            flat += [name, value]
        args = [vid, "1" if fresh else "0", ttl_ms, cooldown_ms, lock_token, RETAIN_MS, max_attempts, *flat]
        res = await self._store.script(self._scripts.commit_send, keys, args)
        if as_text(res[0]) != "ok":
            return None
        record = res[1]  # HGETALL inside a script: a flat [field, value, ...] list
        return _verification(dict(zip(record[::2], record[1::2], strict=True)))

    async def index(self, vid: str, phone: str, ttl_ms: int, messages: Sequence[tuple[str, str]] = ()) -> None:
        """The lookups from our id to the number, and from each vendor message id to our id.

        One pipeline (not a transaction: the keys are on different cluster slots, and each is only
        an index that expires with the record it points to).
        """

        async def write() -> None:
            async with self._store.redis.pipeline(transaction=False) as pipe:
                pipe.set(self._keys.id(vid), phone, px=ttl_ms + RETAIN_MS)
                for provider, message_id in messages:
                    pipe.set(self._keys.message(provider, message_id), vid, px=ttl_ms + RETAIN_MS)
                await pipe.execute()

        await self._store.run(write)

    async def phone_for_id(self, vid: str) -> str | None:
        return await self._get_text(self._keys.id(vid))

    async def id_for_message(self, provider: str, message_id: str) -> str | None:
        return await self._get_text(self._keys.message(provider, message_id))

    async def claim_refresh(self, vid: str, ttl_ms: int) -> bool:
        """True for the first caller within ``ttl_ms``: it may ask the vendor about ``vid``."""
        key = self._keys.refresh(vid)
        return bool(await self._store.run(lambda: self._store.redis.set(key, "1", nx=True, px=ttl_ms)))

    async def _get_text(self, key: str) -> str | None:
        value = await self._store.run(lambda: self._store.redis.get(key))
        return as_text(value) if value is not None else None

    # -- checking -----------------------------------------------------------------------------
    async def take_attempt(
        self,
        phone: str,
        *,
        expected_id: str,
        limit: int,
        window_ms: int,
        token: str,
        app: str = "",
        source: SourceBudget | None = None,
    ) -> Taken:
        """Charge one attempt and a failed-check slot under ``token`` (and the end user's failure
        slot, with ``source``: ``check_sources.py``) in one round trip; ``code_length`` in the answer
        is the stored code's, for the caller to judge a code of another length as wrong. Raises
        :class:`StoreUnavailable` when a source's check was given up already (its release landed first)."""
        keys = [self._keys.current(phone, app), self._keys.fails(phone), self._keys.token(phone, token)]
        args: list[str | int] = [expected_id, limit, window_ms, token, self._keys.record(phone, ""), TOKEN_TTL_MS]
        if source is not None:
            keys.append(self._keys.source_fails(phone, source.source))
            args += [source.limit, source.window_ms]
        res = await self._store.script(self._scripts.take_attempt, keys, args)
        if as_text(res[0]) == "released":
            raise StoreUnavailable("This check was given up already.")
        outcome = TakeOutcome(as_text(res[0]))
        if outcome is TakeOutcome.OK:
            return Taken(
                outcome,
                id=as_text(res[1]),
                gen=as_text(res[2]),
                attempts_left=int(res[3]),
                mode=as_text(res[4]),
                provider=as_text(res[5]),
                reference=as_text(res[6]),
                code_hash=as_text(res[7]),
                code_length=int(res[8]),
            )
        if outcome in (TakeOutcome.BUDGET, TakeOutcome.SOURCE_BUDGET):
            return Taken(outcome, wait_ms=int(res[1]))
        return Taken(outcome)

    async def finish_check(
        self,
        phone: str,
        vid: str,
        *,
        gen: str,
        outcome: CheckVerdict,
        token: str,
        attempts_left: int,
        app: str = "",
        source: str = "",
    ) -> tuple[FinishOutcome, int]:
        """``attempts_left`` is what :meth:`take_attempt` left after charging this check. A check that
        is no failure (any answer but wrong or dead) gives back ``source``'s failure slot in the same call."""
        k = self._keys
        keys = [k.current(phone, app), k.fails(phone), k.record(phone, vid), k.token(phone, token)]
        if source:
            keys.append(k.source_fails(phone, source))
        args = [vid, gen, str(outcome), token, RETAIN_MS, attempts_left]
        res = await self._store.script(self._scripts.finish_check, keys, args)
        return FinishOutcome(as_text(res[0])), int(res[1]) if len(res) > 1 else 0

    async def release_check(self, phone: str, token: str, *, source: str = "") -> None:
        """Give back what the check with ``token`` was charged, whenever its charge runs (before,
        after or never); running it again gives back nothing more. ``source``: the end user whose
        failure budget the same charge took (``check_sources.py``)."""
        keys = [self._keys.token(phone, token), self._keys.fails(phone)]
        if source:
            keys.append(self._keys.source_fails(phone, source))
        args = [token, self._keys.record(phone, ""), TOKEN_TTL_MS]
        await self._store.script(self._scripts.release_check, keys, args)

    async def cancel(self, phone: str, vid: str, app: str = "") -> bool:
        keys = [self._keys.current(phone, app), self._keys.record(phone, vid)]
        return bool(await self._store.script(self._scripts.cancel, keys, [vid, RETAIN_MS]))

    async def read(self, phone: str, vid: str) -> Verification | None:
        key = self._keys.record(phone, vid)
        raw = await self._store.run(lambda: self._store.redis.hgetall(key))
        return _verification(raw) if raw else None

    async def apply_receipt(
        self, phone: str, vid: str, *, status: str, provider: str, rank: int, message_id: str
    ) -> bool:
        key = self._keys.record(phone, vid)
        return bool(await self._store.script(self._scripts.receipt, [key], [status, provider, rank, message_id]))
