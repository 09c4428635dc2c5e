"""The send-side limit windows in Redis: the per-number window with its cooldown and in-flight lock,
and the per-client and per-IP windows.

Rate limits are sliding-window logs (a sorted set of reservation tokens scored by time) rather than
GCRA or fixed windows: they are exact (N concurrent requests never pass more than the limit), the
``Retry-After`` is exact (when the oldest entry leaves the window), and a reservation can be refunded
by removing its token, which is how a send that no provider delivered leaves the user's quota
untouched and how a right code is not counted as a failed check. The ``limits`` library's moving
window has no per-request refund and cannot be combined with the cooldown and lock in one atomic
script, so these are Lua (``lua/shared/window.lua``). Memory is bounded by the limit's count per key.
"""

from __future__ import annotations

import enum

import msgspec

from .redis_store import RedisStore, as_text

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
        keys = [k.current(phone, app), k.sends(phone), k.cooldown(phone), k.sending(phone)]
        res = await self._store.script(self._store.scripts.begin_send, keys, [limit, window_ms, token, lock_ms])
        outcome = BeginOutcome(as_text(res[0]))
        if outcome is BeginOutcome.OK:
            return Begin(outcome, now_ms=int(res[1]), current_id=as_text(res[2]))
        return Begin(outcome, wait_ms=int(res[1]))

    async def reserve(self, kind: str, ident: str, *, limit: int, window_ms: int, token: str) -> int:
        """0 when reserved, else milliseconds until a slot frees up."""
        key = self._keys.window(kind, ident)
        return int(await self._store.script(self._store.scripts.reserve, [key], [limit, window_ms, token]))

    async def refund(self, kind: str, ident: str, token: str) -> None:
        key = self._keys.window(kind, ident)
        await self._store.run(lambda: self._store.redis.zrem(key, token))

    async def abort_send(self, phone: str, token: str) -> None:
        keys = [self._keys.sends(phone), self._keys.sending(phone)]
        await self._store.script(self._store.scripts.abort_send, keys, [token])
