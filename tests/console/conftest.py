"""The admin console in a real browser: Debian's Chromium driven by Playwright, against the service
behind a real uvicorn socket and the suite's real Redis.

The browser is the system's (``/usr/bin/chromium``, installed by ``.ci/run``); Playwright never
downloads one. The tests run on the session's event loop, where the one browser lives (``pytestmark`` in each test
module). Each test gets a fresh browser context (no cookies), signed in or not as it needs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import Browser, BrowserContext, Page, async_playwright
from redis.asyncio import Redis

from otp_service.devredis import RedisProcess
from otp_service.settings import Settings
from tests.conftest import Vendors, build_app, make_settings
from tests.server import ServerThread

CHROMIUM = "/usr/bin/chromium"  # Debian's package (.ci/run installs it)
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ALICE = "alice-admin-token-0123456789"
BOB = "bob-admin-token-0123456789ab"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"

SignIn = Callable[..., Awaitable[Page]]


# The event worker's schedule in fractions of a second, so that a delivery dead-letters within the test.
EVENTS_FAST = {
    "OTP_EVENTS_POLL_S": "0.02",
    "OTP_EVENTS_FIRST_RETRY_S": "0.05",
    "OTP_EVENTS_MAX_RETRY_S": "0.2",
    "OTP_EVENTS_RETRY_FOR_S": "0.3",
}


@pytest.fixture
def console_settings(redis_server: RedisProcess) -> Settings:
    return make_settings(OTP_REDIS_URL=redis_server.url, OTP_ADMIN_TOKENS=f"alice:{ALICE},bob:{BOB}", **EVENTS_FAST)


@pytest.fixture
async def console_url(console_settings: Settings, redis: Redis, vendors: Vendors) -> AsyncIterator[str]:
    thread = ServerThread(build_app(console_settings, vendors)).start()
    try:
        yield thread.url
    finally:
        thread.stop()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def browser() -> AsyncIterator[Browser]:
    """One Chromium for the session (its start is the slow part); every test has its own context."""
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            await launched.close()


@pytest_asyncio.fixture(loop_scope="session")
async def context(browser: Browser, console_url: str) -> AsyncIterator[BrowserContext]:
    made = await browser.new_context(base_url=console_url, viewport={"width": 1200, "height": 900})
    try:
        yield made
    finally:
        await made.close()


@pytest_asyncio.fixture(loop_scope="session")
async def page(context: BrowserContext) -> Page:
    return await context.new_page()


@pytest.fixture
def sign_in(page: Page) -> SignIn:
    async def go(token: str = ALICE) -> Page:
        await page.goto("/admin/signin")
        await page.fill("#token", token)
        await page.click("button[type=submit]")
        return page

    return go
