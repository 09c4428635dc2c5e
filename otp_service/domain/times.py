"""The one time format of the contract: RFC 3339 UTC to the second (``2026-11-23T18:00:00Z``)."""

from __future__ import annotations

import functools
import time

__all__ = ("rfc3339",)


def rfc3339(ms: int) -> str:
    """Milliseconds since the epoch (what Redis records hold) as the contract writes timestamps."""
    return _second(ms // 1000)


@functools.lru_cache(maxsize=1024)
def _second(seconds: int) -> str:
    """One answer carries several timestamps and requests of the same second share them: each second
    is formatted once (a datetime's strftime per timestamp was 1 % of a send's CPU, issue 14)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))
