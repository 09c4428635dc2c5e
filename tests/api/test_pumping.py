"""Done-when of the fraud guard: a pumping attack mixed with normal traffic (``tests/pumping.py``)."""

from __future__ import annotations

from typing import Any

from tests.api.helpers import patch_settings
from tests.conftest import ADMIN, CLIENT, Vendors
from tests.pumping import ATTACKED, plan, prefix_of, replay

MIN_SENDS = 20  # conversion_guard.min_sends (default): the README's number


async def test_a_pumping_attack_is_held_within_min_sends_per_range_and_normal_traffic_passes(
    app_with: Any, vendors: Vendors
) -> None:
    requests = plan(attack_sends=1500, normal_sends=400)
    async with app_with() as client:
        # One backend key carries all of this traffic; every other setting is the default.
        await patch_settings(client, client_limit={"count": 1_000_000, "window_seconds": 60})
        result = await replay(client, requests, CLIENT, vendors.last_code)
        holds = (await client.get("/v1/admin/holds", headers=ADMIN)).json()

    attacked = {prefix_of(r.to) for r in requests if r.attack}
    assert {h["prefix"] for h in holds} == attacked
    assert len(attacked) == len(ATTACKED)
    assert all(n < MIN_SENDS for n in result.sms_by_range.values()), result.sms_by_range
    assert result.sent(attack=True) < len(ATTACKED) * MIN_SENDS  # of 1,500 a naive service sends
    normal_429 = result.refused_429(attack=False) / result.total(attack=False)
    assert normal_429 < 0.01, result.statuses
    assert result.sent(attack=False) == result.total(attack=False)
