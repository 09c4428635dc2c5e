"""Premium, satellite, non-geographic, toll-free and fixed-line numbers get no code under the defaults
(README "SMS pumping"); the refusal says why (type or prefix) and costs nothing."""

from __future__ import annotations

import pytest

from tests.api.helpers import Client, assert_problem, patch_settings, send
from tests.conftest import ADMIN, Vendors

REFUSED_BY_DEFAULT = {
    "international premium rate +979": "+979123456789",
    "Iridium satellite +881": "+881612345678",
    "international networks +882": "+8823421234",
    "international networks +883": "+883510012345",
    "Inmarsat +870": "+870301234567",
    "international freephone +800": "+80012345678",
    "international shared cost +808": "+80812345678",
    "international UAN +888": "+88812345678901",
    "UK premium rate +44 909": "+449098790000",
    "UK premium rate +44 901": "+449012345678",
    "US premium rate +1 900": "+19002345678",
    "US toll free +1 800": "+18002345678",
    "UK freephone +44 800": "+448001234567",
    "UK landline": "+441212345678",
    "Spanish landline": "+34912345678",
}


@pytest.mark.parametrize("number", REFUSED_BY_DEFAULT.values(), ids=REFUSED_BY_DEFAULT.keys())
async def test_the_defaults_refuse_every_premium_satellite_non_geographic_toll_free_and_fixed_range(
    client: Client, vendors: Vendors, number: str
) -> None:
    body = assert_problem(await send(client, number), 403, "number_not_allowed")
    assert "type" not in body["detail"] or "cannot receive a code" in body["detail"]
    assert "fraud" not in body["detail"].lower()
    assert not vendors.gatum.messages


@pytest.mark.parametrize("number", ["+447911123456", "+34600100200", "+12015550123", "+5511987654321"])
async def test_mobile_and_fixed_line_or_mobile_numbers_get_their_code(client: Client, number: str) -> None:
    assert (await send(client, number)).status_code == 201


async def test_the_refusal_names_the_type(client: Client) -> None:
    body = assert_problem(await send(client, "+19002345678"), 403, "number_not_allowed")
    assert "premium-rate numbers" in body["detail"]


async def test_a_blocked_prefix_is_refused_and_the_refusal_names_the_prefix(client: Client, vendors: Vendors) -> None:
    await patch_settings(client, blocked_prefixes=["+4479111"])
    body = assert_problem(await send(client, "+447911123456"), 403, "number_not_allowed")
    assert "+4479111" in body["detail"]
    assert (await send(client, "+447912123456")).status_code == 201


async def test_an_allowed_type_is_let_through(client: Client) -> None:
    await patch_settings(client, allowed_number_types=["mobile", "fixed_line_or_mobile", "toll_free"])
    assert (await send(client, "+18002345678")).status_code == 201


async def test_fixed_lines_cannot_be_allowed_while_every_channel_is_text(client: Client) -> None:
    response = await client.patch(
        "/v1/admin/settings", json={"allowed_number_types": ["mobile", "fixed_line"]}, headers=ADMIN
    )
    body = assert_problem(response, 400, "validation_error")
    assert "text" in body["detail"]


async def test_unknown_number_types_are_a_validation_error(client: Client) -> None:
    response = await client.patch("/v1/admin/settings", json={"allowed_number_types": ["satellite"]}, headers=ADMIN)
    assert_problem(response, 400, "validation_error")


async def test_blocked_prefixes_must_be_e164_prefixes(client: Client) -> None:
    response = await client.patch("/v1/admin/settings", json={"blocked_prefixes": ["979"]}, headers=ADMIN)
    assert_problem(response, 400, "validation_error")


async def test_a_test_number_of_a_refused_type_still_gets_its_fixed_code(app_with: object) -> None:
    async with app_with(OTP_TEST_NUMBERS="enabled") as client:  # type: ignore[operator]
        await patch_settings(client, test_numbers={"+441212345678": "123456"})
        response = await send(client, "+441212345678")
        assert response.status_code == 201, response.text
        assert response.json()["provider"] == "test"
