"""The one time format of the contract: RFC 3339 UTC to the second (``2026-11-23T18:00:00Z``)."""

from __future__ import annotations

import datetime as dt

__all__ = ("rfc3339",)


def rfc3339(ms: int) -> str:
    """Milliseconds since the epoch (what Redis records hold) as the contract writes timestamps."""
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
