"""A circuit breaker per provider, kept per process.

Per process rather than shared through Redis: what the breaker protects against is this process
waiting on a dead vendor's timeout, and each replica finds that out within a few requests on its own.
Sharing the state would put extra Redis writes on every send and let one replica's network trouble
switch a vendor off for all of them.

Closed -> open after ``threshold`` consecutive failures; open -> half-open after ``cooldown_s``, when
one probe request is let through; its success closes the breaker, its failure re-opens it.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from ..metrics import BREAKER_STATE

__all__ = ("Breaker", "Breakers")

CLOSED, HALF_OPEN, OPEN = "closed", "half_open", "open"
_GAUGE = {CLOSED: 0, HALF_OPEN: 1, OPEN: 2}


class Breaker:
    def __init__(
        self, name: str, *, threshold: int = 5, cooldown_s: float = 30.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.name = name
        self.threshold = threshold
        self.cooldown_s = cooldown_s
        self._clock = clock
        self._failures = 0
        self._opened_at = 0.0
        self._state = CLOSED
        self._probing = False
        BREAKER_STATE.labels(name).set(0)

    @property
    def state(self) -> str:
        if self._state == OPEN and self._clock() - self._opened_at >= self.cooldown_s:
            return HALF_OPEN
        return self._state

    def allow(self) -> bool:
        """Whether a call may go out now; in half-open only one probe at a time."""
        state = self.state
        if state == CLOSED:
            return True
        if state == HALF_OPEN and not self._probing:
            self._state = HALF_OPEN
            self._probing = True
            BREAKER_STATE.labels(self.name).set(_GAUGE[HALF_OPEN])
            return True
        return False

    def success(self) -> None:
        self._failures = 0
        self._probing = False
        if self._state != CLOSED:
            self._state = CLOSED
            BREAKER_STATE.labels(self.name).set(_GAUGE[CLOSED])

    def failure(self) -> None:
        self._failures += 1
        if self._state == HALF_OPEN or self._failures >= self.threshold:
            self._state = OPEN
            self._opened_at = self._clock()
            self._probing = False
            BREAKER_STATE.labels(self.name).set(_GAUGE[OPEN])

    def release(self) -> None:
        """A call that said nothing about the vendor's health (e.g. a rejected number) ends a probe."""
        self._probing = False


class Breakers:
    def __init__(self, *, threshold: int = 5, cooldown_s: float = 30.0) -> None:
        self._threshold = threshold
        self._cooldown_s = cooldown_s
        self._by_name: dict[str, Breaker] = {}

    def __getitem__(self, name: str) -> Breaker:
        breaker = self._by_name.get(name)
        if breaker is None:
            breaker = self._by_name[name] = Breaker(name, threshold=self._threshold, cooldown_s=self._cooldown_s)
        return breaker
