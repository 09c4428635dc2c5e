"""Routing per country: the live setting ``routes`` (domain/routes.py), end to end through the API.

The global ``providers`` order is the default route; a country's route, or the longest number prefix's,
replaces it with its own order and its own sender id per provider.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.helpers import NUMBER, Client, assert_problem, patch_settings, send
from tests.conftest import ADMIN, Vendors

MEXICO = "+525512345678"


async def test_a_country_route_picks_another_provider_and_its_sender_id(client: Client, vendors: Vendors) -> None:
    await patch_settings(
        client,
        providers=["gatum", "instasent"],
        routes={"ES": {"providers": ["instasent"], "sender_ids": {"instasent": "AcmeES"}}},
    )
    spain = (await send(client, NUMBER)).json()
    assert spain["provider"] == "instasent"
    assert vendors.instasent.messages[-1]["from"] == "AcmeES"
    assert vendors.gatum.messages == []

    mexico = (await send(client, MEXICO)).json()
    assert mexico["provider"] == "gatum"  # no route for MX: the default order
    assert vendors.gatum.messages[-1]["sender"] == "Verify"  # and the adapter's own sender


async def test_the_longest_matching_prefix_wins_over_the_country(client: Client, vendors: Vendors) -> None:
    routes = {
        "ES": {"providers": ["gatum"]},
        "+346": {"providers": ["instasent"], "sender_ids": {"instasent": "Mobile6"}},
        "+34600": {"providers": ["instasent"], "sender_ids": {"instasent": "Mobile600"}},
    }
    await patch_settings(client, providers=["gatum", "instasent"], routes=routes)
    assert (await send(client, NUMBER)).json()["provider"] == "instasent"
    assert vendors.instasent.messages[-1]["from"] == "Mobile600"
    assert (await send(client, "+34710123456")).json()["provider"] == "gatum"


async def test_a_route_falls_over_within_its_own_order(client: Client, vendors: Vendors) -> None:
    await patch_settings(client, providers=["gatum"], routes={"ES": {"providers": ["instasent", "gatum"]}})
    vendors.instasent.no_balance = True
    assert (await send(client, NUMBER)).json()["provider"] == "gatum"


@pytest.mark.parametrize(
    ("routes", "field"),
    [
        ({"ES": {"providers": ["nobody"]}}, "routes.ES.providers"),
        ({"XX": {"providers": ["gatum"]}}, "routes.XX"),
        ({"ES": {"providers": ["gatum", "gatum"]}}, "routes.ES.providers"),
        ({"ES": {"providers": ["gatum"], "sender_ids": {"instasent": "Acme"}}}, "routes.ES.sender_ids"),
    ],
    ids=["unknown-provider", "unknown-country", "provider-twice", "sender-id-off-route"],
)
async def test_a_bad_route_is_refused_naming_the_field(client: Client, routes: dict[str, Any], field: str) -> None:
    response = await client.patch("/v1/admin/settings", json={"routes": routes}, headers=ADMIN)
    body = assert_problem(response, 400, "validation_error")
    assert body["errors"][0]["field"] == field
    assert (await client.get("/v1/admin/settings", headers=ADMIN)).json()["routes"] == {}


@pytest.mark.parametrize(
    "routes",
    [{"es": {"providers": ["gatum"]}}, {"+0034": {"providers": ["gatum"]}}, {"ES": {"providers": []}}],
    ids=["lowercase-country", "prefix-not-international", "empty-order"],
)
async def test_a_malformed_route_is_refused(client: Client, routes: dict[str, Any]) -> None:
    response = await client.patch("/v1/admin/settings", json={"routes": routes}, headers=ADMIN)
    body = assert_problem(response, 400, "validation_error")
    assert body["errors"][0]["field"].startswith("routes")
