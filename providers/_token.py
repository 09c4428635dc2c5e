"""The bearer-token cache shared by the adapters that log in (Gatum, Message Central, Conectaline).

A vendor token is worth reusing for as long as the vendor honours it: a login per send doubles the
latency and the vendor's login rate limit. So each adapter keeps one token, hands it to every
concurrent call, and renews it a little before it expires. When it is missing or due, concurrent
callers wait on one :class:`asyncio.Lock` and share one login instead of each logging in. A token
the vendor refused is dropped with :meth:`TokenCache.invalidate`, only if it is still the cached one,
so N calls refused at once cause one renewal, not N. A failed login caches nothing: the next call
tries again.

How long a token may be served is the adapter's call (each vendor reports expiry differently), so
``login`` returns it as a :class:`Grant`.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable
from typing import NamedTuple

__all__ = ("Grant", "TokenCache")


class Grant(NamedTuple):
    token: str
    keep_s: float  # seconds from now the token may be served; math.inf for one that never expires


class TokenCache:
    """One token, served until ``keep_s`` after it was granted, renewed under a lock."""

    def __init__(
        self,
        login: Callable[[], Awaitable[Grant]],
        *,
        clock: Callable[[], float],
        initial: Grant | None = None,
    ) -> None:
        self._login = login
        self._clock = clock
        self._lock = asyncio.Lock()
        self._token: str | None = None
        self._renew_at = -math.inf
        if initial is not None:
            self._keep(initial)

    def _keep(self, grant: Grant) -> str:
        self._token, self._renew_at = grant.token, self._clock() + grant.keep_s
        return grant.token

    def _fresh(self) -> str | None:
        return self._token if self._token is not None and self._clock() < self._renew_at else None

    async def get(self) -> str:
        """The cached token, or one new login shared by every caller that finds none."""
        if (token := self._fresh()) is not None:
            return token
        async with self._lock:
            if (token := self._fresh()) is not None:  # another caller logged in while we waited
                return token
            return self._keep(await self._login())

    def invalidate(self, refused: str) -> None:
        """Forget ``refused`` (a token the vendor turned down) unless a newer one already replaced it."""
        if self._token == refused:
            self._token = None

    async def renew(self, refused: str) -> str:
        """A token other than ``refused``: :meth:`invalidate` then :meth:`get`."""
        self.invalidate(refused)
        return await self.get()
