"""Failed checks per number and end user (the source), so strangers cannot lock the owner out.

A check's source is the end user's address (``end_user_ip``, or the caller's for a ``:public``
key), else the calling app as a whole. Two windows bound the guesses on a number:

* the source's own window (``source_check_limit``, 5 per day by default): a source that used it up
  is refused, whatever else happens;
* the number's window (``check_limit``, 10 per hour): once full, only a source with no failure of
  its own on this number within that window's length is still judged.

So one day holds at most ``24 * check_limit + sources * source_check_limit`` judged guesses on a
number (the arithmetic is in the README), and a stranger who fills the number's window from other
addresses keeps the owner (checking from their own address) out for at most one window: the
owner's own last failure leaves it within that time. A check that is approved, or never judged,
gives its reservation back: only a wrong code is a failure (a code of the wrong length is one).

The reservation is recorded under the check's token, like its attempt: a check that answers 503
gives it back with ``release_check`` (in the background, ``releases.py``), before or after it lands.
"""

from __future__ import annotations

import enum

import msgspec

from .errors import StoreUnavailable
from .redis_store import RedisStore, as_text

__all__ = ("UNLIMITED", "CheckSources", "SourceOutcome", "SourceTake")

# The number's window is not enforced for a source with an allowance: a limit no window reaches.
UNLIMITED = 1_000_000_000


class SourceOutcome(enum.StrEnum):
    OK = "ok"
    BUDGET = "budget"


class SourceTake(msgspec.Struct, frozen=True):
    outcome: SourceOutcome
    allowance: bool = False
    wait_ms: int = 0


class CheckSources:
    def __init__(self, store: RedisStore) -> None:
        self._store = store

    def _key(self, phone: str, source: str) -> str:
        return self._store.keys.source_fails(phone, source)

    async def take(
        self, phone: str, source: str, *, limit: int, window_ms: int, token: str, allowance_ms: int
    ) -> SourceTake:
        keys = [self._key(phone, source), self._store.keys.token(phone, token)]
        res = await self._store.script(self._store.scripts.take_source, keys, [limit, window_ms, token, allowance_ms])
        if as_text(res[0]) == "released":
            raise StoreUnavailable("This check was given up already.")
        outcome = SourceOutcome(as_text(res[0]))
        if outcome is SourceOutcome.OK:
            return SourceTake(outcome, allowance=int(res[1]) == 1)
        return SourceTake(outcome, wait_ms=int(res[1]))

    async def give_back(self, phone: str, source: str, token: str) -> None:
        key = self._key(phone, source)
        await self._store.run(lambda: self._store.redis.zrem(key, token))
