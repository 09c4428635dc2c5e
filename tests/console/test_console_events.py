"""The outbound events page in headless Chromium: endpoints, failures, and a dead letter replayed."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterator

import httpx
import pytest
from playwright.async_api import expect

from tests.conftest import ADMIN, CLIENT
from tests.console.conftest import SignIn
from tests.events_receiver import Receiver

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver().up()
    yield server
    server.down()


async def test_a_dead_letter_is_replayed_from_the_console(
    sign_in: SignIn, console_url: str, receiver: Receiver
) -> None:
    receiver.mode = "fail"
    async with httpx.AsyncClient(base_url=console_url) as api:
        created = await api.post(
            "/v1/admin/apps/web/event-endpoints",
            json={"url": receiver.url, "types": ["verification.created"]},
            headers=ADMIN,
        )
        assert created.status_code == 201, created.text
        secret = created.json()["secret"]
        vid = (await api.post("/v1/verifications", json={"to": "+34600100200"}, headers=CLIENT)).json()["id"]
    page = await sign_in()
    await page.click("text=Events")
    await page.select_option("#f-app", "web")
    await expect(page).to_have_url(re.compile(r"app=web"))
    await expect(page.get_by_test_id("endpoints")).to_contain_text(receiver.url)
    deadline = time.monotonic() + 15
    while not await page.get_by_test_id("dead-letter").count() and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
        await page.reload()
    letter = page.get_by_test_id("dead-letter")
    await expect(letter).to_contain_text(vid)
    await expect(letter).to_contain_text("status_5xx")
    await expect(page.get_by_test_id("event-counts")).to_contain_text(re.compile(r"status_5xx \d+"))
    assert secret not in await page.content()
    receiver.mode = "ok"
    await page.click("text=Replay 1 dead letter")
    await expect(page.get_by_role("status")).to_have_text("Replayed 1 dead letter(s).")
    await expect(page.get_by_test_id("dead-letters")).to_contain_text("No dead letters.")
    await receiver.until(lambda: receiver.types_for(vid) == ["verification.created"])
