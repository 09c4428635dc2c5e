"""The bearer-token cache every logging-in adapter uses (providers/_token.py), on its own."""

from __future__ import annotations

import asyncio
import math

import pytest

from providers import ProviderAuthError, ProviderUnavailable
from providers._token import Grant, TokenCache
from tests.providers.conftest import Clock


class Vendor:
    """A login endpoint that counts its calls, takes a round trip, and can be made to fail."""

    def __init__(self, keep_s: float = 600.0) -> None:
        self.keep_s = keep_s
        self.logins = 0
        self.failure: Exception | None = None

    async def login(self) -> Grant:
        self.logins += 1
        await asyncio.sleep(0.001)  # concurrent callers interleave, as over a real network
        if self.failure is not None:
            raise self.failure
        return Grant(f"token-{self.logins}", self.keep_s)


@pytest.fixture
def vendor() -> Vendor:
    return Vendor()


@pytest.fixture
def cache(vendor: Vendor, clock: Clock) -> TokenCache:
    return TokenCache(vendor.login, clock=clock)


async def test_the_first_call_logs_in_and_later_calls_reuse_the_token(vendor: Vendor, cache: TokenCache) -> None:
    assert [await cache.get() for _ in range(3)] == ["token-1"] * 3
    assert vendor.logins == 1


async def test_concurrent_first_calls_share_one_login(vendor: Vendor, cache: TokenCache) -> None:
    tokens = await asyncio.gather(*(cache.get() for _ in range(20)))
    assert set(tokens) == {"token-1"}
    assert vendor.logins == 1


async def test_a_token_is_served_until_its_keep_time_and_renewed_after(
    vendor: Vendor, cache: TokenCache, clock: Clock
) -> None:
    await cache.get()
    clock.advance(599)
    assert await cache.get() == "token-1"
    clock.advance(1)
    assert await cache.get() == "token-2"
    assert vendor.logins == 2


async def test_concurrent_calls_on_an_expired_token_share_one_renewal(
    vendor: Vendor, cache: TokenCache, clock: Clock
) -> None:
    await cache.get()
    clock.advance(600)
    assert set(await asyncio.gather(*(cache.get() for _ in range(10)))) == {"token-2"}
    assert vendor.logins == 2


async def test_an_invalidated_token_is_replaced_by_a_new_login(vendor: Vendor, cache: TokenCache) -> None:
    refused = await cache.get()
    cache.invalidate(refused)
    assert await cache.get() == "token-2"
    assert vendor.logins == 2


async def test_callers_refused_with_the_same_token_share_one_renewal(vendor: Vendor, cache: TokenCache) -> None:
    refused = await cache.get()
    tokens = await asyncio.gather(*(cache.renew(refused) for _ in range(10)))
    assert set(tokens) == {"token-2"}
    assert vendor.logins == 2


async def test_invalidating_a_token_that_was_already_replaced_keeps_the_new_one(
    vendor: Vendor, cache: TokenCache
) -> None:
    old = await cache.get()
    new = await cache.renew(old)
    cache.invalidate(old)  # a late caller that was refused with the old token
    assert await cache.get() == new
    assert vendor.logins == 2


@pytest.mark.parametrize(
    "failure",
    [ProviderUnavailable("vendor", "HTTP 503"), ProviderAuthError("vendor", "login refused")],
    ids=["unavailable", "refused"],
)
async def test_a_failed_login_caches_nothing_and_the_next_call_logs_in_again(
    vendor: Vendor, cache: TokenCache, failure: Exception
) -> None:
    vendor.failure = failure
    with pytest.raises(type(failure)):
        await cache.get()
    vendor.failure = None
    assert await cache.get() == "token-2"
    assert vendor.logins == 2


async def test_concurrent_callers_all_see_a_failed_login(vendor: Vendor, cache: TokenCache) -> None:
    vendor.failure = ProviderUnavailable("vendor", "HTTP 503")
    results = await asyncio.gather(*(cache.get() for _ in range(3)), return_exceptions=True)
    assert all(isinstance(r, ProviderUnavailable) for r in results)
    assert vendor.logins == 3  # nothing was cached, so each waiter tried once in turn


async def test_an_initial_token_is_served_without_a_login(vendor: Vendor, clock: Clock) -> None:
    cache = TokenCache(vendor.login, clock=clock, initial=Grant("configured", math.inf))
    clock.advance(10 * 365 * 24 * 3600)
    assert await cache.get() == "configured"
    assert vendor.logins == 0


async def test_a_refused_initial_token_gives_way_to_a_login(vendor: Vendor, clock: Clock) -> None:
    cache = TokenCache(vendor.login, clock=clock, initial=Grant("configured", math.inf))
    assert await cache.renew("configured") == "token-1"
    assert await cache.get() == "token-1"


async def test_an_initial_token_with_a_keep_time_expires_like_any_other(vendor: Vendor, clock: Clock) -> None:
    cache = TokenCache(vendor.login, clock=clock, initial=Grant("configured", 60.0))
    clock.advance(59)
    assert await cache.get() == "configured"
    clock.advance(1)
    assert await cache.get() == "token-1"
