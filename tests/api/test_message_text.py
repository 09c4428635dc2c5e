"""What the user's phone receives: the WebOTP / origin-bound line, the Android app hash, and the
encoding (GSM-7 or UCS-2) and segment count that each delivery records and each vendor is told."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from providers.text import segment_count
from tests.api.helpers import Client, patch_settings, send
from tests.conftest import Vendors


async def test_webotp_host_ends_the_message_with_the_origin_bound_line(
    app_with: Callable[..., Any], vendors: Vendors
) -> None:
    async with app_with(OTP_WEBOTP_HOST="example.com") as client:
        assert (await send(client)).status_code == 201
        text = vendors.last_text("gatum")
        code = vendors.last_code("gatum")
        assert text.endswith(f"@example.com #{code}")
        assert text.startswith(f"Your Acme code is {code}.")


async def test_webotp_line_comes_before_the_android_app_hash(app_with: Callable[..., Any], vendors: Vendors) -> None:
    async with app_with(OTP_WEBOTP_HOST="example.com") as client:
        assert (await send(client, app_hash="FA+9qCX9VSu")).status_code == 201
        code = vendors.last_code("gatum")
        assert vendors.last_text("gatum").endswith(f"@example.com #{code}\nFA+9qCX9VSu")


@pytest.mark.parametrize(
    "template",
    ["Ο κωδικός σας για {brand} είναι {code}", "🔐 {code} is your {brand} code", "Ваш код {code}"],
    ids=["greek", "emoji", "cyrillic"],
)
async def test_a_non_gsm_template_is_sent_as_ucs2_and_its_segments_counted(
    client: Client, vendors: Vendors, template: str
) -> None:
    await patch_settings(client, providers=["instasent"], templates={"en": template})
    body = (await send(client)).json()
    text = vendors.last_text("instasent")
    assert body["delivery"]["encoding"] == "ucs2"
    assert body["delivery"]["segments"] == segment_count(text) == 1
    (message,) = vendors.instasent.messages
    assert message["allowUnicode"] is True


async def test_a_long_ucs2_message_counts_several_segments(client: Client, vendors: Vendors) -> None:
    template = "Ο κωδικός σας για {brand} είναι {code}. " + "Μην τον μοιραστείτε με κανέναν. " * 3
    await patch_settings(client, providers=["gatum"], templates={"en": template})
    body = (await send(client)).json()
    text = vendors.last_text("gatum")
    assert 70 < len(text) <= 134  # more than one UCS-2 part, at most two
    assert body["delivery"] == {**body["delivery"], "encoding": "ucs2", "segments": 2}


async def test_a_gsm_message_is_gsm7_and_instasent_gets_no_allow_unicode(client: Client, vendors: Vendors) -> None:
    await patch_settings(client, providers=["instasent"], templates={"en": "Su codigo de {brand}: {code} (€, Ñ, ü, é)"})
    body = (await send(client)).json()
    assert body["delivery"]["encoding"] == "gsm7"
    assert body["delivery"]["segments"] == 1
    (request,) = vendors.instasent.requests
    assert b"allowUnicode" not in request.content
    assert vendors.instasent.messages[0]["allowUnicode"] is False
