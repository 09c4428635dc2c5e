"""A provider installed as its own package (the documented example) delivers a code through the API."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from tests.api.helpers import check, send
from tests.conftest import Vendors, code_in
from tests.third_party import example_installed


class Gateway:
    """The example provider's far end: records each POSTed message and names it."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.messages.append(json.loads(request.content))
        return httpx.Response(200, headers={"X-Message-Id": f"ex-{len(self.messages)}"})


async def test_the_example_package_delivers_a_code_that_then_verifies(
    tmp_path: Path, app_with: Callable[..., Any], vendors: Vendors
) -> None:
    gateway = Gateway()
    vendors.by_host["sms.example.test"] = gateway
    with example_installed(tmp_path):
        async with app_with(OTP_PROVIDERS="example_sms", EXAMPLE_SMS_URL="https://sms.example.test/send") as client:
            response = await send(client)
            assert response.status_code == 201, response.text
            assert response.json()["provider"] == "example_sms"
            [message] = gateway.messages
            assert message["reference"] == response.json()["id"]
            checked = await check(client, code_in(message["text"]), id=response.json()["id"])
            assert checked.status_code == 200 and checked.json()["status"] == "approved"
