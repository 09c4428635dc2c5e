"""A message's validity in a vendor's unit and range (:attr:`~providers.base.SendOptions.validity_s`).

A late SMS only carries a code that is already dead, so a send asks the vendor to drop it once the code
expires. The value is rounded *up* to the vendor's unit (rounding down could drop a message while its
code is still good) and clamped into the range the vendor accepts (a value it refuses would fail the
send, which is worse than a message that lives a little too long).
"""

from __future__ import annotations

import math

from .base import SendOptions

__all__ = ("validity_in",)


def validity_in(options: SendOptions, *, unit_s: int, lowest: int, highest: int) -> int | None:
    """``options.validity_s`` in units of ``unit_s`` seconds, within ``[lowest, highest]``; None when unset."""
    if options.validity_s is None:
        return None
    units = math.ceil(max(options.validity_s, 0) / unit_s)
    return min(max(units, lowest), highest)
