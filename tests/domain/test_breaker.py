"""Per-provider circuit breaker: closed -> open after N consecutive failures -> one probe -> closed/open."""

from __future__ import annotations

import asyncio

import pytest
from prometheus_client import REGISTRY

from otp_service.domain.breaker import Breaker, Breakers
from otp_service.domain.dispatcher import Dispatcher
from otp_service.domain.errors import ProviderUnavailableError
from otp_service.domain.local_code import LocalMessage
from providers import Msisdn, Providers, ProviderUnavailable, SendReceipt


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def make(clock: FakeClock, *, name: str = "test_vendor", threshold: int = 3, cooldown_s: float = 30.0) -> Breaker:
    return Breaker(name, threshold=threshold, cooldown_s=cooldown_s, clock=clock)


def open_breaker(breaker: Breaker) -> None:
    for _ in range(breaker.threshold):
        assert breaker.allow()
        breaker.failure()
    assert breaker.state == "open"


def gauge(name: str) -> float | None:
    return REGISTRY.get_sample_value("otp_circuit_breaker_state", {"provider": name})


def test_a_new_breaker_is_closed_and_allows_calls(clock: FakeClock) -> None:
    breaker = make(clock)
    assert breaker.state == "closed"
    assert all(breaker.allow() for _ in range(10))


def test_it_stays_closed_below_the_threshold(clock: FakeClock) -> None:
    breaker = make(clock, threshold=3)
    breaker.failure()
    breaker.failure()
    assert breaker.state == "closed"
    assert breaker.allow()


def test_it_opens_after_the_threshold_of_consecutive_failures(clock: FakeClock) -> None:
    breaker = make(clock, threshold=3)
    for _ in range(3):
        breaker.failure()
    assert breaker.state == "open"
    assert not breaker.allow()


def test_a_success_resets_the_consecutive_failure_count(clock: FakeClock) -> None:
    breaker = make(clock, threshold=3)
    breaker.failure()
    breaker.failure()
    breaker.success()
    breaker.failure()
    breaker.failure()
    assert breaker.state == "closed"
    breaker.failure()
    assert breaker.state == "open"


def test_it_refuses_every_call_while_open(clock: FakeClock) -> None:
    breaker = make(clock, cooldown_s=30.0)
    open_breaker(breaker)
    for _ in range(5):
        clock.advance(5.0)
        assert not breaker.allow()
    assert breaker.state == "open"  # 25 s of 30


def test_it_lets_exactly_one_probe_through_after_the_cool_down(clock: FakeClock) -> None:
    breaker = make(clock, cooldown_s=30.0)
    open_breaker(breaker)
    clock.advance(29.999)
    assert not breaker.allow()
    clock.advance(0.001)
    assert breaker.state == "half_open"
    assert breaker.allow()  # the probe
    assert not breaker.allow()  # nobody else while the probe is out
    assert not breaker.allow()


def test_a_successful_probe_closes_it(clock: FakeClock) -> None:
    breaker = make(clock)
    open_breaker(breaker)
    clock.advance(30.0)
    assert breaker.allow()
    breaker.success()
    assert breaker.state == "closed"
    assert all(breaker.allow() for _ in range(5))
    # ...and the failure count started again from zero.
    breaker.failure()
    breaker.failure()
    assert breaker.state == "closed"


def test_a_failed_probe_reopens_it_for_a_full_cool_down(clock: FakeClock) -> None:
    breaker = make(clock, threshold=3, cooldown_s=30.0)
    open_breaker(breaker)
    clock.advance(30.0)
    assert breaker.allow()
    breaker.failure()  # one failure is enough in half-open, whatever the threshold
    assert breaker.state == "open"
    assert not breaker.allow()
    clock.advance(29.0)
    assert not breaker.allow()  # the cool-down restarted at the probe's failure
    clock.advance(1.0)
    assert breaker.allow()
    assert not breaker.allow()


def test_a_released_probe_lets_the_next_probe_through(clock: FakeClock) -> None:
    breaker = make(clock)
    open_breaker(breaker)
    clock.advance(30.0)
    assert breaker.allow()
    breaker.release()  # e.g. the vendor rejected the number: says nothing about its health
    assert breaker.state == "half_open"
    assert breaker.allow()
    assert not breaker.allow()


def test_the_state_gauge_follows_the_breaker(clock: FakeClock) -> None:
    breaker = make(clock, name="gauge_vendor")
    assert gauge("gauge_vendor") == 0
    open_breaker(breaker)
    assert gauge("gauge_vendor") == 2
    clock.advance(30.0)
    assert breaker.allow()
    assert gauge("gauge_vendor") == 1
    breaker.success()
    assert gauge("gauge_vendor") == 0


def test_breakers_keep_one_breaker_per_provider() -> None:
    breakers = Breakers(threshold=2, cooldown_s=10.0)
    first = breakers["registry_vendor_a"]
    assert breakers["registry_vendor_a"] is first
    other = breakers["registry_vendor_b"]
    assert other is not first
    assert first.threshold == 2
    assert first.cooldown_s == 10.0
    first.failure()
    first.failure()
    assert first.state == "open"
    assert other.state == "closed"


# -- the dispatcher's use of the breaker -----------------------------------------------------------


class FlakySender:
    """A sender that fails, hangs or succeeds on demand."""

    name = "flaky_vendor"
    max_length = 1600

    def __init__(self) -> None:
        self.mode = "fail"
        self.calls = 0

    async def send(self, to: Msisdn, text: str, *, reference: str, options: object = None) -> SendReceipt:
        self.calls += 1
        if self.mode == "fail":
            raise ProviderUnavailable(self.name, "connection refused")
        if self.mode == "hang":
            await asyncio.sleep(3600)
        return SendReceipt(provider=self.name, message_id=f"m{self.calls}")


class MadeMessage:
    def __init__(self, message: LocalMessage) -> None:
        self.made = message

    def message(self) -> LocalMessage:
        return self.made


async def deliver_once(chain: Dispatcher) -> str:
    code_hash: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    code_hash.set_result("hash")
    delivered = await chain.send(
        ["flaky_vendor"],
        Msisdn("34", "600100200"),
        reference="vf_1",
        code_length=6,
        local=MadeMessage(LocalMessage("123456", "Code 123456", code_hash, 1, "gsm7")),
    )
    return delivered.provider


async def test_a_cancelled_probe_does_not_wedge_the_breaker() -> None:
    # A client that disconnects cancels its request mid-send. If that request carried the half-open
    # probe, the breaker must not wait forever for a result that will never be reported.
    sender = FlakySender()
    chain = Dispatcher(Providers(senders={"flaky_vendor": sender}), Breakers(threshold=1, cooldown_s=0.05))
    with pytest.raises(ProviderUnavailableError):
        await deliver_once(chain)  # opens the breaker
    await asyncio.sleep(0.06)

    sender.mode = "hang"
    probe = asyncio.create_task(deliver_once(chain))
    await asyncio.sleep(0.01)
    assert sender.calls == 2  # the probe went out
    probe.cancel()
    with pytest.raises(asyncio.CancelledError):
        await probe

    sender.mode = "ok"
    await asyncio.sleep(0.12)  # well past another cool-down
    assert await deliver_once(chain) == "flaky_vendor"
