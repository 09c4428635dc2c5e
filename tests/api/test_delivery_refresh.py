"""A late receipt is asked of the vendor's status endpoint when the verification is read (delivery_refresh.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from tests.api.helpers import patch_settings, send
from tests.conftest import CLIENT, Vendors

WAIT_S = 0.3


def status_queries(vendors: Vendors) -> int:
    return sum(1 for r in vendors.wavy.requests if r.url.path == "/v1/sms/status/search")


async def test_a_verification_whose_receipt_is_late_is_refreshed_from_the_vendor_once_per_period(
    app_with: Callable[..., Any], vendors: Vendors
) -> None:
    async with app_with(OTP_RECEIPT_REFRESH_AFTER_S=str(WAIT_S)) as client:
        await patch_settings(client, providers=["wavy"])
        vid = (await send(client)).json()["id"]
        message_id = vendors.wavy.messages[-1]["id"]

        early = await client.get(f"/v1/verifications/{vid}", headers=CLIENT)
        assert early.json()["delivery"]["status"] != "delivered"
        assert status_queries(vendors) == 0  # not late yet: the vendor is not asked

        vendors.wavy.set_status(message_id, 2, 4)  # delivered, and the DLR never reaches us
        await asyncio.sleep(WAIT_S + 0.05)
        late = await client.get(f"/v1/verifications/{vid}", headers=CLIENT)
        assert late.json()["delivery"]["status"] == "delivered"
        assert status_queries(vendors) == 1

        again = await client.get(f"/v1/verifications/{vid}", headers=CLIENT)
        assert again.json()["delivery"]["status"] == "delivered"
        assert status_queries(vendors) == 1  # final now: never asked again


async def test_reads_within_the_period_ask_the_vendor_once(app_with: Callable[..., Any], vendors: Vendors) -> None:
    async with app_with(OTP_RECEIPT_REFRESH_AFTER_S=str(WAIT_S)) as client:
        await patch_settings(client, providers=["wavy"])
        vid = (await send(client)).json()["id"]
        await asyncio.sleep(WAIT_S + 0.05)
        reads = [client.get(f"/v1/verifications/{vid}", headers=CLIENT) for _ in range(5)]
        answers = await asyncio.gather(*reads)
        assert {r.status_code for r in answers} == {200}
        assert status_queries(vendors) == 1  # no status yet; the claim holds the others off


async def test_a_failing_status_endpoint_leaves_the_read_as_it_was(
    app_with: Callable[..., Any], vendors: Vendors
) -> None:
    async with app_with(OTP_RECEIPT_REFRESH_AFTER_S=str(WAIT_S)) as client:
        await patch_settings(client, providers=["wavy"])
        vid = (await send(client)).json()["id"]
        await asyncio.sleep(WAIT_S + 0.05)
        vendors.wavy.fail_with_status = 503
        response = await client.get(f"/v1/verifications/{vid}", headers=CLIENT)
        assert response.status_code == 200
        assert response.json()["delivery"]["status"] in {"queued", "sent"}


async def test_zero_switches_the_refresh_off(app_with: Callable[..., Any], vendors: Vendors) -> None:
    async with app_with(OTP_RECEIPT_REFRESH_AFTER_S="0") as client:
        await patch_settings(client, providers=["wavy"])
        vid = (await send(client)).json()["id"]
        vendors.wavy.set_status(vendors.wavy.messages[-1]["id"], 2, 4)
        await asyncio.sleep(0.05)
        await client.get(f"/v1/verifications/{vid}", headers=CLIENT)
        assert status_queries(vendors) == 0
