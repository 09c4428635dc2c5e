"""A send asks the vendor to drop the SMS once the code has expired (message validity)."""

from __future__ import annotations

from tests.api.helpers import Client, patch_settings, send
from tests.conftest import Vendors


async def test_the_vendor_request_carries_the_code_lifetime_as_its_validity(client: Client, vendors: Vendors) -> None:
    await patch_settings(client, ttl_seconds=300)
    response = await send(client)
    assert response.status_code == 201, response.text
    assert vendors.gatum.messages[-1]["raw"]["lifetime"] == 300  # Gatum's lifetime is in seconds
