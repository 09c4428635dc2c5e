"""The fraud guard's page in headless Chromium: what the guard reports, and a held prefix released."""

from __future__ import annotations

import httpx
import pytest
from playwright.async_api import expect

from tests.conftest import CLIENT
from tests.console.conftest import SignIn

pytestmark = pytest.mark.asyncio(loop_scope="session")

PREFIX = "+44740012"  # +44 and the first 6 digits of the national number: one range for the guard
RANGE = [f"{PREFIX}{i:04d}" for i in range(30)]


async def test_a_prefix_held_by_the_conversion_guard_is_released_from_the_console(
    sign_in: SignIn, console_url: str
) -> None:
    async with httpx.AsyncClient(base_url=console_url) as api:
        for number in RANGE[:19]:
            assert (await api.post("/v1/verifications", json={"to": number}, headers=CLIENT)).status_code == 201
        held = await api.post("/v1/verifications", json={"to": RANGE[19]}, headers=CLIENT)
        assert held.status_code == 429
        page = await sign_in()
        await page.click("text=Fraud")
        await expect(page.get_by_test_id("hold")).to_contain_text(PREFIX)
        await page.select_option("#f-by", "prefix")
        await expect(page.get_by_test_id("stats")).to_contain_text(PREFIX)
        await expect(page.get_by_test_id("stats").locator("tbody tr").first).to_contain_text("0.0 %")
        await page.click(f"text=Release {PREFIX}")
        await expect(page.get_by_role("status")).to_have_text(f"Released {PREFIX}.")
        await expect(page.get_by_test_id("holds")).to_contain_text("No prefix is held.")
        again = await api.post("/v1/verifications", json={"to": RANGE[20]}, headers=CLIENT)
    assert again.status_code == 201, again.text
