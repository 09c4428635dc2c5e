"""No lock-out by strangers, and a bounded guessing budget (README "Failed checks").

Failed checks are counted per number (``check_limit``, 10 per hour) and per number and end user
(``source_check_limit``, 5 per day); once the number's window is full, only an end user with no
failure of its own in that window's length is still judged.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from tests.api.helpers import NUMBER, Client, patch_settings, send, wrong
from tests.conftest import CLIENT, MOBILE, Vendors

OWNER_IP = "192.0.2.10"
STRANGERS = [f"198.51.100.{i}" for i in range(100)]


async def _check(client: Client, code: str, ip: str, headers: dict[str, str] = CLIENT) -> Any:
    body = {"to": NUMBER, "code": code, "end_user_ip": ip}
    return await client.post("/v1/verifications/check", json=body, headers=headers)


async def _stranger_round(client: Client, vendors: Vendors, owner_code: str) -> list[int]:
    """Each stranger address guesses once, through another app, restarting that app's verification
    whenever it died, so every guess meets a live code."""
    statuses = []
    for ip in STRANGERS:
        response = await _check(client, wrong(owner_code), ip, MOBILE)
        if response.status_code == 404:
            await send(client, headers=MOBILE, end_user_ip=ip)
            response = await _check(client, wrong(vendors.last_code()), ip, MOBILE)
        statuses.append(response.status_code)
    return statuses


async def test_strangers_on_100_addresses_cannot_keep_the_owners_right_code_out(
    client: Client, vendors: Vendors
) -> None:
    # Send-side settings only (the strangers restart their verification often); the check budgets are the defaults.
    # Hundreds of never-approved sends to one number would get its range held by the conversion guard.
    await patch_settings(
        client,
        resend_cooldown_seconds=0,
        send_limit={"count": 1000, "window_seconds": 600},
        conversion_guard={"enabled": False},
    )
    assert (await send(client, end_user_ip=OWNER_IP)).status_code == 201
    owner_code = vendors.last_code()
    for _ in range(3):
        statuses = await _stranger_round(client, vendors, owner_code)
    assert statuses == [429] * len(STRANGERS)  # the number's window is full: strangers are refused
    approved = await _check(client, owner_code, OWNER_IP)
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved"


async def test_an_owner_who_failed_too_waits_at_most_one_window(client: Client, vendors: Vendors) -> None:
    """Scaled down: a 2-second window stands for the hour."""
    await patch_settings(
        client,
        resend_cooldown_seconds=0,
        send_limit={"count": 1000, "window_seconds": 600},
        check_limit={"count": 3, "window_seconds": 2},
    )
    assert (await send(client, end_user_ip=OWNER_IP)).status_code == 201
    owner_code = vendors.last_code()
    await _stranger_round(client, vendors, owner_code)
    assert (await _check(client, wrong(owner_code), OWNER_IP)).json()["valid"] is False  # the owner's own slip
    refused = await _check(client, owner_code, OWNER_IP)
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) <= 2
    started = time.monotonic()
    while (response := await _check(client, owner_code, OWNER_IP)).status_code == 429:
        assert time.monotonic() - started < 3.5, "kept out for longer than one window"
        await asyncio.sleep(0.2)
    assert response.json()["status"] == "approved"


async def test_the_guessing_budget_is_windows_times_the_number_limit_plus_sources_times_their_limit(
    client: Client, vendors: Vendors
) -> None:
    """README arithmetic, scaled down: with a number window of G per W seconds and S failures per
    end user, N addresses guessing for T seconds get at most ceil(T/W)*G + N*S guesses judged, and no
    address more than S (by default 24*10 + 100*5 = 740 a day: odds 7.4e-4 for a 6-digit code)."""
    g, w, s, addresses = 3, 1, 2, STRANGERS[:10]
    await patch_settings(
        client,
        max_attempts=20,
        resend_cooldown_seconds=0,
        send_limit={"count": 1000, "window_seconds": 600},
        check_limit={"count": g, "window_seconds": w},
        source_check_limit={"count": s, "window_seconds": 3600},
    )
    judged = dict.fromkeys(addresses, 0)
    started = time.monotonic()
    assert (await send(client, headers=MOBILE)).status_code == 201
    while time.monotonic() - started < 3.0:
        for ip in addresses:
            response = await _check(client, wrong(vendors.last_code()), ip, MOBILE)
            if response.status_code == 404:
                await send(client, headers=MOBILE)
            elif response.status_code == 200:
                judged[ip] += 1
        await asyncio.sleep(0.1)
    elapsed = time.monotonic() - started
    assert max(judged.values()) <= s
    windows = int(elapsed // w) + 1
    assert sum(judged.values()) <= windows * g + len(addresses) * s
    assert sum(judged.values()) >= len(addresses)  # every address had its first guess judged


async def test_a_code_of_the_wrong_length_spends_the_end_users_failure_budget(client: Client, vendors: Vendors) -> None:
    """A wrong length is a wrong guess (no free oracle), for the end user's budget as for the attempts."""
    await patch_settings(client, source_check_limit={"count": 2, "window_seconds": 3600})
    assert (await send(client, end_user_ip=OWNER_IP)).status_code == 201
    owner_code = vendors.last_code()
    for _ in range(2):
        response = await _check(client, "1234", STRANGERS[0])
        assert response.status_code == 200, response.text
        assert response.json()["valid"] is False
    refused = await _check(client, owner_code, STRANGERS[0])
    assert refused.status_code == 429
    assert "end user" in refused.json()["detail"]
    assert (await _check(client, owner_code, OWNER_IP)).json()["status"] == "approved"
