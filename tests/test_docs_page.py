"""The docs page at /schema works without internet access: everything it loads comes from the service."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from litestar import Litestar
from litestar.testing import AsyncTestClient

_LOADED = re.compile(r"""<(?:script|link|img)\b[^>]*?\b(?:src|href)\s*=\s*["']([^"']+)["']""", re.IGNORECASE)


async def test_the_docs_page_loads_swagger_ui_from_the_service_itself(client: AsyncTestClient[Litestar]) -> None:
    page = await client.get("/schema")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    html = page.text
    assert "SwaggerUIBundle" in html and '"sendVerification"' in html  # the document is embedded
    loaded = _LOADED.findall(html)
    assert len(loaded) >= 4  # favicon, css, bundle, preset
    for url in loaded:
        parts = urlsplit(url)
        assert not parts.scheme and not parts.netloc, f"{url} is loaded from another host"
        asset = await client.get(url)
        assert asset.status_code == 200, url
        assert asset.content, url


async def test_the_docs_page_names_no_external_host(client: AsyncTestClient[Litestar]) -> None:
    html = (await client.get("/schema")).text
    assert re.findall(r"(?:https?:)?//[A-Za-z0-9.-]+\.[A-Za-z]{2,}", html) == []


async def test_the_document_itself_is_still_served_as_json(client: AsyncTestClient[Litestar]) -> None:
    response = await client.get("/schema/openapi.json")
    assert response.status_code == 200
    assert response.json()["paths"]["/v1/verifications"]["post"]["operationId"] == "sendVerification"
