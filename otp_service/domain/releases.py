"""Giving back what a request was charged when it fails, above all when it fails because Redis did not
answer in time.

A request that times out on a stalled Redis answers ``503 store_unavailable`` at once, but the script
it sent may still run when Redis wakes up: the attempt, the window slot or the in-flight lock would be
taken after the client was told nothing happened. Every charge is recorded under the request's token
and every give-back is idempotent and safe in any order with the charge (``redis_store``), so the
service can simply keep trying to give it back, in the background, until Redis answers. The retries
are bounded (``give_up_after_s``); the token markers outlive them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import structlog

from .errors import StoreUnavailable

__all__ = ("Releases",)

log = structlog.get_logger("otp.releases")

Release = Callable[[], Awaitable[None]]


class Releases:
    def __init__(self, *, give_up_after_s: float = 300.0, first_delay_s: float = 0.2, max_delay_s: float = 5.0) -> None:
        self.give_up_after_s = give_up_after_s
        self.first_delay_s = first_delay_s
        self.max_delay_s = max_delay_s
        self._pending: set[asyncio.Task[None]] = set()

    @property
    def pending(self) -> int:
        """Give-backs still waiting for Redis."""
        return len(self._pending)

    async def give_back(self, what: str, release: Release, *, store_down: bool) -> None:
        """Give back now when Redis is up, so that the next request sees it; when it is known down
        (``store_down``) or does not answer, in the background without holding the request."""
        if store_down:
            self.later(what, release)
            return
        try:
            await asyncio.shield(release())
        except StoreUnavailable:
            self.later(what, release)
        except asyncio.CancelledError:
            self.later(what, release)  # the shielded call may still finish: running it twice is harmless
            raise

    def later(self, what: str, release: Release) -> None:
        """Retry ``release`` in the background until Redis answers (bounded); never raises."""
        task = asyncio.get_running_loop().create_task(self._retry(what, release))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _retry(self, what: str, release: Release) -> None:
        give_up_at = time.monotonic() + self.give_up_after_s
        delay = self.first_delay_s
        while True:
            await asyncio.sleep(delay)
            try:
                await release()
            except StoreUnavailable:
                if time.monotonic() + delay > give_up_at:
                    log.error("release.abandoned", what=what, after_s=self.give_up_after_s)
                    return
                delay = min(delay * 2, self.max_delay_s)
                continue
            except Exception:  # a bug: say so, once, rather than an unretrieved task exception
                log.exception("release.failed", what=what)
                return
            log.info("release.done", what=what)
            return

    async def drain(self) -> None:
        """Wait for every pending give-back (tests, shutdown)."""
        while self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)

    async def close(self, grace_s: float = 2.0) -> None:
        """At shutdown, before the Redis client closes: pending give-backs get ``grace_s`` to finish,
        then stop. A retry after the client is closed would open a connection that nothing closes; what
        is stopped is logged, as a give-back that gave up is."""
        if not self._pending:
            return
        _, late = await asyncio.wait(set(self._pending), timeout=grace_s)
        for task in late:
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)
        if late:
            log.error("release.abandoned", what="shutdown", pending=len(late))
