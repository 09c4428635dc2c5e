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
keeps no reservation: only a wrong code is a failure (a code of the wrong length is one).

The reservation is taken with the check's attempt, by the same script and under the same token
(``take_attempt.lua``, one round trip): a check never judged (no live verification, the number's
window full) takes none, and the one that settles the check (``finish_check.lua``) gives it back
when the check is no failure. A check that answers 503 gives it back with ``release_check`` (in the
background, ``releases.py``), before or after it lands.
"""

from __future__ import annotations

import msgspec

__all__ = ("SourceBudget",)


class SourceBudget(msgspec.Struct, frozen=True):
    """Who is checking, and how many failed checks on the number their own window holds."""

    source: str
    limit: int
    window_ms: int
