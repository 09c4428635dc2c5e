"""The dispatcher: every vendor call, send or check, goes through one breaker, one set of metrics and
one failure classification; our own code is made once per request and only for a plain sender.

The HTTP-level rules (fallback order, ``delivery: unknown``, 503 bodies) are specified in
``tests/api/test_providers_chain.py`` and ``tests/api/test_message_central_flow.py``; these tests pin
what only shows from inside: what each vendor was asked, the probe's fate and the metrics.
"""

from __future__ import annotations

import asyncio

import pytest
from prometheus_client import REGISTRY

from otp_service.domain.breaker import Breakers
from otp_service.domain.codes import Argon2Params, CodeHasher
from otp_service.domain.dispatcher import Dispatcher
from otp_service.domain.errors import ProviderUnavailableError
from otp_service.domain.local_code import LocalDraft
from otp_service.domain.models import DeliveryStatus, Mode
from otp_service.domain.policy import default_settings
from providers import (
    CheckOutcome,
    Msisdn,
    ProviderRejected,
    Providers,
    ProviderUnavailable,
    SendReceipt,
    StartedVerification,
)

TO = Msisdn("34", "600100200")
CHEAP = Argon2Params(time_cost=1, memory_kib=8)


class Sender:
    def __init__(self, name: str, *, fails: bool = False) -> None:
        self.name = name
        self.max_length = 1600
        self.fails = fails
        self.texts: list[str] = []

    async def send(self, to: Msisdn, text: str, *, reference: str, options: object = None) -> SendReceipt:
        self.texts.append(text)
        if self.fails:
            raise ProviderUnavailable(self.name, "connection refused")
        return SendReceipt(provider=self.name, message_id="m1")


class Verifier:
    """A vendor that makes codes of 4 to 8 digits; ``check`` does what ``on_check`` says."""

    code_length_range = (4, 8)

    def __init__(self, name: str) -> None:
        self.name = name
        self.asked: list[int] = []
        self.on_check: BaseException | None = None
        self.hang = False

    async def start(self, to: Msisdn, *, code_length: int, options: object = None) -> StartedVerification:
        self.asked.append(code_length)
        return StartedVerification(provider=self.name, reference="ref-1", code_length=code_length)

    async def check(self, to: Msisdn, code: str, *, reference: str) -> CheckOutcome:
        if self.hang:
            await asyncio.sleep(3600)
        if self.on_check is not None:
            raise self.on_check
        return CheckOutcome.APPROVED


@pytest.fixture
def hasher() -> CodeHasher:
    return CodeHasher(b"test-pepper", CHEAP, threads=1)


def draft(hasher: CodeHasher) -> LocalDraft:
    return LocalDraft("vf_1", default_settings(["a"]), hasher, locale=None, app_hash=None, webotp_host=None, code=None)


def sample(name: str, labels: dict[str, str]) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.mark.parametrize("wanted", [4, 6, 8])
async def test_a_verification_vendor_is_asked_for_the_wanted_length(hasher: CodeHasher, wanted: int) -> None:
    verifier = Verifier("range_vendor")
    local = draft(hasher)
    dispatcher = Dispatcher(Providers(verifiers={"range_vendor": verifier}), Breakers())
    delivered = await dispatcher.send(["range_vendor"], TO, reference="vf_1", code_length=wanted, local=local)
    assert verifier.asked == [wanted]
    assert (delivered.mode, delivered.code_length, delivered.delivery_status) == (
        Mode.DELEGATED,
        wanted,
        DeliveryStatus.QUEUED,
    )
    assert local.made is None  # the vendor made the code: none of ours was generated or hashed


@pytest.mark.parametrize("wanted", [3, 9, 10])
async def test_a_verification_vendor_that_cannot_make_the_length_is_skipped_for_the_next_provider(
    hasher: CodeHasher, wanted: int
) -> None:
    """The admin's code_length is the length: never a different one because a vendor prefers it."""
    verifier, sender = Verifier("range_vendor"), Sender("sms_vendor")
    local = draft(hasher)
    providers = Providers(verifiers={"range_vendor": verifier}, senders={"sms_vendor": sender})
    dispatcher = Dispatcher(providers, Breakers())
    delivered = await dispatcher.send(
        ["range_vendor", "sms_vendor"], TO, reference="vf_1", code_length=wanted, local=local
    )
    assert verifier.asked == []
    assert (delivered.provider, delivered.mode) == ("sms_vendor", Mode.LOCAL)
    assert delivered.local is not None and delivered.local.code in sender.texts[0]


async def test_a_chain_of_vendors_that_cannot_make_the_length_says_so(hasher: CodeHasher) -> None:
    verifier = Verifier("range_vendor")
    dispatcher = Dispatcher(Providers(verifiers={"range_vendor": verifier}), Breakers())
    with pytest.raises(ProviderUnavailableError) as raised:
        await dispatcher.send(["range_vendor"], TO, reference="vf_1", code_length=10, local=draft(hasher))
    assert raised.value.tried == [{"provider": "range_vendor", "reason": "code_length_unsupported"}]
    assert verifier.asked == []


async def test_every_sender_tried_gets_the_same_code_of_ours(hasher: CodeHasher) -> None:
    down, up = Sender("down_vendor", fails=True), Sender("up_vendor")
    local = draft(hasher)
    dispatcher = Dispatcher(Providers(senders={"down_vendor": down, "up_vendor": up}), Breakers())
    delivered = await dispatcher.send(["down_vendor", "up_vendor"], TO, reference="vf_1", code_length=6, local=local)
    assert down.texts == up.texts
    assert delivered.local is local.made
    assert delivered.local is not None and delivered.local.code in up.texts[0]
    assert await delivered.local.code_hash  # the hash was started with the code


async def test_a_draft_makes_its_message_once_and_cancel_stops_the_hash(hasher: CodeHasher) -> None:
    local = draft(hasher)
    assert local.made is None
    first = local.message()
    assert local.message() is first
    local.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first.code_hash


async def test_a_vendor_check_is_timed_and_its_failures_counted_by_kind() -> None:
    verifier = Verifier("checked_vendor")
    dispatcher = Dispatcher(Providers(verifiers={"checked_vendor": verifier}), Breakers())
    timed = {"provider": "checked_vendor", "operation": "check"}
    assert await dispatcher.check("checked_vendor", TO, "123456", reference="ref-1") is CheckOutcome.APPROVED
    assert sample("otp_provider_latency_seconds_count", timed) == 1
    verifier.on_check = ProviderUnavailable("checked_vendor", "HTTP 503", status_code=503)
    with pytest.raises(ProviderUnavailableError) as caught:
        await dispatcher.check("checked_vendor", TO, "123456", reference="ref-1")
    assert caught.value.tried == [{"provider": "checked_vendor", "reason": "unavailable"}]
    assert sample("otp_provider_latency_seconds_count", timed) == 2
    assert sample("otp_provider_errors_total", {"provider": "checked_vendor", "kind": "unavailable"}) == 1


async def test_a_check_the_vendor_refused_does_not_count_against_its_health() -> None:
    verifier = Verifier("refusing_vendor")
    verifier.on_check = ProviderRejected("refusing_vendor", "bad request", status_code=400)
    breakers = Breakers(threshold=1, cooldown_s=60)
    dispatcher = Dispatcher(Providers(verifiers={"refusing_vendor": verifier}), breakers)
    for _ in range(3):
        with pytest.raises(ProviderUnavailableError):
            await dispatcher.check("refusing_vendor", TO, "123456", reference="ref-1")
    assert breakers["refusing_vendor"].state == "closed"


@pytest.mark.parametrize("how", ["cancelled", "our_bug"])
async def test_a_check_that_ends_without_an_answer_still_ends_the_half_open_probe(how: str) -> None:
    # The breaker lets one probe through after its cool-down; a probe that neither succeeds nor
    # fails (client gone, or a bug of ours) must hand the turn on, or the vendor is refused for good.
    name = f"probe_vendor_{how}"
    verifier = Verifier(name)
    breakers = Breakers(threshold=1, cooldown_s=0.05)
    dispatcher = Dispatcher(Providers(verifiers={name: verifier}), breakers)
    verifier.on_check = ProviderUnavailable(name, "connection refused")
    with pytest.raises(ProviderUnavailableError):
        await dispatcher.check(name, TO, "123456", reference="ref-1")  # opens the breaker
    await asyncio.sleep(0.06)
    if how == "cancelled":
        verifier.hang = True
        probe = asyncio.create_task(dispatcher.check(name, TO, "123456", reference="ref-1"))
        await asyncio.sleep(0.01)
        probe.cancel()
        with pytest.raises(asyncio.CancelledError):
            await probe
    else:
        verifier.on_check = RuntimeError("a bug of ours")
        with pytest.raises(RuntimeError):
            await dispatcher.check(name, TO, "123456", reference="ref-1")
    verifier.hang, verifier.on_check = False, None
    assert await dispatcher.check(name, TO, "123456", reference="ref-1") is CheckOutcome.APPROVED
