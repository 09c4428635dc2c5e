"""What every provider test shares: a fake clock, the leak check, and each adapter wired to its fake.

:data:`ADAPTERS` lists every adapter under test with its vendor fake and settings; the ``case``
fixture runs a test once per adapter. ``fake`` -> ``client`` -> ``adapter`` wire the case's fake to its
adapter (a vendor's module overrides ``case`` to use them); ``connect`` builds the same chain on demand,
with failures injected on the delivering request or on the login, and settings overridden.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx
import msgspec
import pytest

from providers import Msisdn, SendReceipt, StartedVerification, VendorSettings
from providers.conectaline import ConectalineSms
from providers.gatum import GatumSender
from providers.instasent import InstasentSms
from providers.message_central import MessageCentralSms, MessageCentralVerify
from providers.wavy import WavySender
from providers.webhook import WebhookSender
from tests.fakes import conectaline, gatum, instasent, message_central, wavy, webhook


class Clock:
    """A clock the test moves by hand, injected where an adapter or fake reads the time."""

    def __init__(self, now: float = 1_750_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


def assert_clean(exc: BaseException, forbidden: Iterable[str]) -> None:
    """Nothing in ``forbidden`` shows in the error: ``str``, ``detail`` and ``vendor_code`` reach logs and bodies."""
    shown = f"{exc} | {getattr(exc, 'detail', '')} | {getattr(exc, 'vendor_code', '')}"
    for value in forbidden:
        assert value not in shown, f"{value!r} leaked into {shown!r}"


TO = Msisdn("34", "600100200")
CODE = "482913"
TEXT = f"Your Acme code is {CODE}. It expires in 10 minutes."
REF = "vf_" + "0123456789abcdef" * 2


@dataclass(frozen=True)
class Adapter:
    """One adapter under contract: how to build it, what it does, which request may deliver."""

    id: str
    name: str  # the adapter's provider name
    make_fake: Callable[[], Any]
    settings: VendorSettings
    build: Callable[[Any, httpx.AsyncClient], Any]
    delivery_path: str  # path suffix of the request that may deliver a message
    renews_credentials: bool  # logs in (or fetches a token) and renews it once on a 401
    starts: bool = False  # a VerificationProvider: exercised through start(), not send()
    extra_secrets: tuple[str, ...] = ()

    def forbidden(self) -> list[str]:
        """What must never appear in an error: the code, the text, the number, every secret."""
        return [CODE, TEXT, TO.e164, TO.digits, TO.national_number, *self.settings.secrets(), *self.extra_secrets]

    async def exercise(self, adapter: Any, to: Msisdn = TO) -> SendReceipt | StartedVerification:
        if self.starts:
            started: StartedVerification = await adapter.start(to, code_length=6)
            return started
        receipt: SendReceipt = await adapter.send(to, TEXT, reference=REF)
        return receipt


_MC_KEY = base64.b64encode(message_central.PASSWORD.encode()).decode()

ADAPTERS = [
    Adapter(
        "message_central-verify_now",
        "message_central",
        message_central.FakeMessageCentral,
        message_central.SETTINGS,
        MessageCentralVerify,
        message_central.SEND_PATH,
        renews_credentials=True,
        starts=True,
        extra_secrets=(_MC_KEY,),
    ),
    Adapter(
        "message_central-sms",
        "message_central",
        message_central.FakeMessageCentral,
        message_central.SMS_SETTINGS,
        MessageCentralSms,
        message_central.SEND_PATH,
        renews_credentials=True,
        extra_secrets=(_MC_KEY,),
    ),
    Adapter("gatum", "gatum", gatum.FakeGatum, gatum.SETTINGS, GatumSender, "/v1/send", renews_credentials=True),
    Adapter("wavy", "wavy", wavy.FakeWavy, wavy.SETTINGS, WavySender, "/v1/send-sms", renews_credentials=False),
    Adapter("instasent", "instasent", instasent.FakeInstasent, instasent.SETTINGS, InstasentSms, "/sms", False),
    Adapter(
        "conectaline-api_token",
        "conectaline",
        conectaline.FakeConectaline,
        conectaline.SETTINGS,
        ConectalineSms,
        "/v1/push/simple",
        renews_credentials=False,
    ),
    Adapter(
        "conectaline-login",
        "conectaline",
        conectaline.FakeConectaline,
        conectaline.LOGIN_SETTINGS,
        ConectalineSms,
        "/v1/push/simple",
        renews_credentials=True,
    ),
    Adapter("webhook", "webhook", webhook.FakeOperator, webhook.SETTINGS, WebhookSender, "/otp/deliver", False),
]
BY_ID = {adapter.id: adapter for adapter in ADAPTERS}
RENEWING = [a for a in ADAPTERS if a.renews_credentials]

Failure = Callable[[httpx.Request], httpx.Response | Awaitable[httpx.Response]]


JSON = "application/json"
# Nested past any decoder's recursion limit, under a key no adapter declares (skipping it recurses too).
NESTED = b'{"nested": ' + b'{"x": ' * 3000 + b"1" + b"}" * 3000 + b"}"
INVALID_UTF8 = b'{"data": "\xff\xfe", "message": "\xc3\x28", "entity": "\xed\xa0\x80", "status": "\xff"}'
_HUGE = 50 * 1024 * 1024


class Endless:
    """A 50 MB reply streamed in 64 KiB chunks, counting how many the adapter pulled."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.pulled = 0

    async def chunks(self) -> AsyncIterator[bytes]:
        yield b'{"data": {"id": "'
        for _ in range(_HUGE // 65536):
            self.pulled += 1
            yield b"x" * 65536

    def __call__(self, request: httpx.Request) -> httpx.Response:
        return httpx.Response(self.status, content=self.chunks(), headers={"Content-Type": JSON})


def gzip_garbage(request: httpx.Request) -> httpx.Response:
    """A 200 whose body claims to be gzip and is not (streamed, so it is decoded only when read)."""

    async def body() -> AsyncIterator[bytes]:
        yield b"this is not gzip"

    return httpx.Response(200, content=body(), headers={"Content-Type": JSON, "Content-Encoding": "gzip"})


@dataclass
class Network:
    """The vendor fake, with ``failure`` answering (or raising) in its place on delivering requests
    and ``login_failure`` on every other request (token and login calls)."""

    case: Adapter
    fake: Any
    failure: Failure | None = None
    login_failure: Failure | None = None
    delay_s: float = 0.0  # a round trip's pause, so concurrent calls really overlap
    deliveries: list[httpx.Request] = field(default_factory=list)
    others: list[httpx.Request] = field(default_factory=list)

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        delivers = request.url.path.rstrip("/").endswith(self.case.delivery_path)
        (self.deliveries if delivers else self.others).append(request)
        failure = self.failure if delivers else self.login_failure
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if failure is None:
            return self.fake.handler(request)  # type: ignore[no-any-return]
        answer = failure(request)
        return await answer if asyncio.iscoroutine(answer) else answer  # type: ignore[return-value]


@pytest.fixture(params=ADAPTERS, ids=[a.id for a in ADAPTERS])
def case(request: pytest.FixtureRequest) -> Adapter:
    """Every adapter in turn; narrow it with ``@pytest.mark.parametrize("case", [...], indirect=True)``."""
    adapter: Adapter = request.param
    return adapter


@pytest.fixture
def fake(case: Adapter) -> Any:
    """``case``'s vendor fake. A vendor's test module picks its adapter by overriding ``case``."""
    return case.make_fake()


@pytest.fixture
async def client(case: Adapter, fake: Any) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client whose every request reaches ``fake`` (through a :class:`Network` with no failure)."""
    async with httpx.AsyncClient(transport=httpx.MockTransport(Network(case, fake))) as http:
        yield http


@pytest.fixture
def adapter(case: Adapter, client: httpx.AsyncClient) -> Any:
    """``case``'s adapter with its test settings, on ``client``."""
    return case.build(case.settings, client)


class Connect(Protocol):
    def __call__(
        self,
        case: Adapter,
        failure: Failure | None = None,
        *,
        login_failure: Failure | None = None,
        delay_s: float = 0.0,
        **settings: Any,
    ) -> tuple[Any, Network]: ...


@pytest.fixture
async def connect() -> AsyncIterator[Connect]:
    """Build ``case``'s fake, its :class:`Network`, a client on it and the adapter (settings overridable)."""
    clients: list[httpx.AsyncClient] = []

    def make(
        case: Adapter,
        failure: Failure | None = None,
        *,
        login_failure: Failure | None = None,
        delay_s: float = 0.0,
        **settings: Any,
    ) -> tuple[Any, Network]:
        network = Network(case, case.make_fake(), failure, login_failure, delay_s=delay_s)
        clients.append(httpx.AsyncClient(transport=httpx.MockTransport(network)))
        vendor_settings = msgspec.structs.replace(case.settings, **settings) if settings else case.settings
        return case.build(vendor_settings, clients[-1]), network

    yield make
    for client in clients:
        await client.aclose()
