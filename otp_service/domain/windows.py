"""The send-side limit windows in Redis: the per-number window with its cooldown and in-flight lock,
and the per-client and per-IP windows.

Rate limits are sliding-window logs (a sorted set of reservation tokens scored by time) rather than
GCRA or fixed windows: they are exact (N concurrent requests never pass more than the limit), the
``Retry-After`` is exact (when the oldest entry leaves the window), and a reservation can be refunded
by removing its token, which is how a send that no provider delivered leaves the user's quota
untouched and how a right code is not counted as a failed check. The ``limits`` library's moving
window has no per-request refund and cannot be combined with the cooldown and lock in one atomic
script, so these are Lua (``lua/shared/window.lua``). Memory is bounded by the limit's count per key.

Giving back is token-based and safe in any order (see ``redis_store``): a reservation or begin_send
arriving after its own refund or abort takes nothing and raises :class:`StoreUnavailable` (only a
request that already answered 503 can be behind such a call).
"""

from __future__ import annotations

import enum

import msgspec

from .errors import StoreUnavailable
from .redis_store import TOKEN_TTL_MS, RedisStore, as_text

__all__ = ("Begin", "BeginOutcome", "LimitWindows")


class BeginOutcome(enum.StrEnum):
    """What ``begin_send.lua`` answered (its return strings, unchanged)."""

    OK = "ok"
    COOLDOWN = "cooldown"  # the resend cooldown is running
    BUSY = "busy"  # another send to this number is in flight
    LIMIT = "limit"  # the number's send window is full


class Begin(msgspec.Struct, frozen=True):
    outcome: BeginOutcome
    wait_ms: int = 0
    now_ms: int = 0
    current_id: str = ""


class LimitWindows:
    """Every method is one round trip (one script or one command)."""

    def __init__(self, store: RedisStore) -> None:
        self._store = store
        self._keys = store.keys

    async def begin_send(
        self, phone: str, *, limit: int, window_ms: int, token: str, lock_ms: int, app: str = ""
    ) -> Begin:
        """The window, cooldown and lock are the number's, whatever the app; ``current_id`` is the app's."""
        k = self._keys
        keys = [k.current(phone, app), k.sends(phone), k.cooldown(phone), k.sending(phone), k.token(phone, token)]
        res = await self._store.script(self._store.scripts.begin_send, keys, [limit, window_ms, token, lock_ms])
        if as_text(res[0]) == "released":
            raise StoreUnavailable("This send was given up already.")
        outcome = BeginOutcome(as_text(res[0]))
        if outcome is BeginOutcome.OK:
            return Begin(outcome, now_ms=int(res[1]), current_id=as_text(res[2]))
        return Begin(outcome, wait_ms=int(res[1]))

    async def reserve(self, kind: str, ident: str, *, limit: int, window_ms: int, token: str) -> int:
        """0 when reserved, else milliseconds until a slot frees up."""
        keys = [self._keys.window(kind, ident), self._keys.window_token(kind, ident, token)]
        wait = int(await self._store.script(self._store.scripts.reserve, keys, [limit, window_ms, token]))
        if wait < 0:
            raise StoreUnavailable("This send was given up already.")
        return wait

    async def refund(self, kind: str, ident: str, token: str) -> None:
        keys = [self._keys.window(kind, ident), self._keys.window_token(kind, ident, token)]
        await self._store.script(self._store.scripts.refund, keys, [token, TOKEN_TTL_MS])

    async def abort_send(self, phone: str, token: str) -> None:
        keys = [self._keys.sends(phone), self._keys.sending(phone), self._keys.token(phone, token)]
        await self._store.script(self._store.scripts.abort_send, keys, [token, TOKEN_TTL_MS])
