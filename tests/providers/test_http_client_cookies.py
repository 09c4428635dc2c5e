"""The vendors' shared HTTP client keeps no cookies: one vendor's ``Set-Cookie`` never rides along
with a later request, to that vendor or any other."""

from __future__ import annotations

import httpx

from otp_service.http_client import make_http_client


async def test_a_cookie_a_vendor_sets_is_not_sent_back() -> None:
    seen: list[str | None] = []

    def vendor(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("cookie"))
        return httpx.Response(200, headers={"set-cookie": "session=abc; Path=/"}, json={})

    client = make_http_client(httpx.MockTransport(vendor), total_timeout_s=5)
    try:
        for _ in range(2):
            await client.post("https://vendor.example/send", json={})
        assert seen == [None, None]
        assert len(client.cookies) == 0
    finally:
        await client.aclose()
