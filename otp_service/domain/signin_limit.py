"""How often anyone may try to sign in to the admin console: per address and for everybody at once.

An admin token has about 143 bits, so guessing it is hopeless; the limit is there so that a
leaked-but-truncated token, a list of old tokens or a noisy scanner cannot be tried at speed, and so
the argon-free token check cannot be used as a cheap oracle. Both windows are charged by one script
(``lua/signin_attempt.lua``), both or neither, so a burst of parallel attempts cannot slip between a
check and a charge. Every attempt counts, a right token too: it is charged before the token is
looked at, so the answer's timing says nothing. The global window means that a flood from many
addresses locks the console for everyone for a while; the bearer-token API stays usable meanwhile.
"""

from __future__ import annotations

import math
import secrets

from .errors import RateLimited
from .redis_store import RedisStore

__all__ = ("SignInLimit",)


class SignInLimit:
    def __init__(
        self, store: RedisStore, *, per_address: int = 10, overall: int = 100, window_s: int = 15 * 60
    ) -> None:
        self._store = store
        self.per_address = per_address
        self.overall = overall
        self.window_s = window_s

    async def attempt(self, address: str) -> None:
        """Count one attempt from ``address``; :class:`RateLimited` when either window is full."""
        keys = self._store.keys
        wait_ms = int(
            await self._store.script(
                self._store.scripts.signin_attempt,
                [keys.signin_window(address), keys.signin_window(None)],
                [self.per_address, self.overall, self.window_s * 1000, secrets.token_hex(8)],
            )
        )
        if wait_ms > 0:
            raise RateLimited(
                "Too many sign-in attempts; try again later.",
                limit="admin_signin",
                retry_after_s=math.ceil(wait_ms / 1000),
            )
