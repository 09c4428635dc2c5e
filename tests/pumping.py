"""A replay of an SMS pumping attack mixed with normal logins, shared by ``tests/api/test_pumping.py``
and ``python -m benchmarks pumping``.

The attack sends codes to a handful of number ranges (the first 6 national digits fixed), from a new
end-user address and id every few requests, and checks almost none of them. Normal traffic comes from
many countries, every number new, and most of its codes are checked right after they arrive.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
import phonenumbers
from phonenumbers import PhoneNumberType

ATTACKED = ("GB", "RU", "NG", "PK", "UZ")
NORMAL = (
    "ES", "FR", "DE", "IT", "PT", "BR", "MX", "AR", "US", "CA",
    "IN", "ID", "PH", "JP", "KR", "TR", "PL", "NL", "SE", "ZA",
)  # fmt: skip
PREFIX_DIGITS = 6
_MOBILE = (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE)


def _numbers(region: str, keep: int, count: int, rng: random.Random) -> list[str]:
    """``count`` distinct valid mobile numbers of ``region`` sharing the example's first ``keep`` digits."""
    example = phonenumbers.example_number_for_type(region, PhoneNumberType.MOBILE)
    national = phonenumbers.national_significant_number(example)
    found: set[str] = set()
    for _ in range(count * 50):
        digits = national[:keep] + "".join(rng.choice("0123456789") for _ in national[keep:])
        number = phonenumbers.parse(f"+{example.country_code}{digits}")
        if (
            phonenumbers.is_valid_number(number)
            and phonenumbers.number_type(number) in _MOBILE
            and phonenumbers.region_code_for_number(number) == region
        ):
            found.add(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))
            if len(found) == count:
                break
    return sorted(found)


def prefix_of(e164: str) -> str:
    number = phonenumbers.parse(e164)
    return f"+{number.country_code}{phonenumbers.national_significant_number(number)[:PREFIX_DIGITS]}"


@dataclass(frozen=True)
class Request:
    to: str
    attack: bool
    checked: bool
    ip: str
    user: str


def plan(attack_sends: int, normal_sends: int, *, checked_share: float = 0.9, seed: int = 12) -> list[Request]:
    """Both kinds of traffic shuffled together."""
    rng = random.Random(seed)
    requests = []
    per_range = -(-attack_sends // len(ATTACKED))
    for region in ATTACKED:
        for i, number in enumerate(_numbers(region, PREFIX_DIGITS, per_range, rng)):
            checked = rng.random() < 0.01  # "almost none"
            requests.append(Request(number, True, checked, f"10.{i % 250}.{rng.randrange(250)}.1", f"bot{i}"))
    per_country = -(-normal_sends // len(NORMAL))
    for region in NORMAL:
        for i, number in enumerate(_numbers(region, 2, per_country, rng)):
            checked = rng.random() < checked_share
            requests.append(Request(number, False, checked, f"192.0.{i % 250}.{rng.randrange(1, 250)}", f"{region}{i}"))
    rng.shuffle(requests)
    return requests


@dataclass
class Result:
    statuses: Counter[tuple[bool, int]] = field(default_factory=Counter)  # (attack, status) -> answers
    sms_by_range: Counter[str] = field(default_factory=Counter)  # attacked range -> SMS sent
    requests: int = 0

    def sent(self, attack: bool) -> int:
        return self.statuses[(attack, 201)]

    def refused_429(self, attack: bool) -> int:
        return self.statuses[(attack, 429)]

    def total(self, attack: bool) -> int:
        return sum(n for (a, _), n in self.statuses.items() if a == attack)


async def replay(
    client: httpx.AsyncClient, requests: list[Request], headers: dict[str, str], last_code: Callable[[], str]
) -> Result:
    """One request at a time, so that ``last_code`` is the code of the send just made."""
    result = Result()
    for r in requests:
        body = {"to": r.to, "end_user_ip": r.ip, "end_user_id": r.user}
        response = await client.post("/v1/verifications", json=body, headers=headers)
        result.statuses[(r.attack, response.status_code)] += 1
        result.requests += 1
        if response.status_code != 201:
            continue
        if r.attack:
            result.sms_by_range[prefix_of(r.to)] += 1
        if r.checked:
            check = {"to": r.to, "code": last_code(), "end_user_ip": r.ip, "end_user_id": r.user}
            await client.post("/v1/verifications/check", json=check, headers=headers)
    return result
