"""Giving back a request's charges (Releases): at once when Redis answers, else in the background,
retried until it does, for a bounded time. The give-backs themselves are idempotent Redis scripts
(tested in test_windows.py and test_verification_store.py); here they are stand-ins that fail on cue."""

from __future__ import annotations

import asyncio

from otp_service.domain.errors import StoreUnavailable
from otp_service.domain.releases import Releases


class Flaky:
    """A give-back that fails with StoreUnavailable ``failures`` times, then succeeds."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls = 0
        self.done = False

    async def __call__(self) -> None:
        self.calls += 1
        if self.calls <= self.failures:
            raise StoreUnavailable("The verification store is unavailable.")
        self.done = True


def quick(give_up_after_s: float = 5.0) -> Releases:
    return Releases(give_up_after_s=give_up_after_s, first_delay_s=0.01, max_delay_s=0.02)


async def test_a_give_back_runs_at_once_when_the_store_answers() -> None:
    releases, release = quick(), Flaky(0)
    await releases.give_back("check", release, store_down=False)
    assert release.done
    assert releases.pending == 0


async def test_a_give_back_the_store_refuses_is_retried_in_the_background_until_it_answers() -> None:
    releases, release = quick(), Flaky(3)
    await releases.give_back("check", release, store_down=False)  # the request is not held
    assert not release.done
    assert releases.pending == 1
    await releases.drain()
    assert release.done
    assert release.calls == 4


async def test_a_give_back_for_a_store_known_down_does_not_hold_the_request() -> None:
    releases, release = quick(), Flaky(0)
    await releases.give_back("send", release, store_down=True)
    assert release.calls == 0  # not even one try inside the request
    await releases.drain()
    assert release.done


async def test_background_retries_stop_after_their_bound() -> None:
    releases, release = quick(give_up_after_s=0.1), Flaky(10_000)
    releases.later("check", release)
    await asyncio.wait_for(releases.drain(), timeout=5)
    assert not release.done
    assert 2 <= release.calls < 100
    assert releases.pending == 0


async def test_closing_stops_the_give_backs_still_waiting_after_a_grace() -> None:
    releases, stuck, quick_one = quick(), Flaky(10_000), Flaky(2)
    releases.later("check", stuck)
    releases.later("send", quick_one)
    await asyncio.wait_for(releases.close(grace_s=0.3), timeout=5)
    assert quick_one.done  # finished within the grace
    assert not stuck.done
    assert releases.pending == 0  # and nothing runs on after the Redis client is gone
    calls = stuck.calls
    await asyncio.sleep(0.1)
    assert stuck.calls == calls


async def test_closing_with_nothing_pending_returns_at_once() -> None:
    releases = quick()
    await asyncio.wait_for(releases.close(grace_s=60), timeout=1)
