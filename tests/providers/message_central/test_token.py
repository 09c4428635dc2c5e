"""Message Central's token: the credentials call, reuse, renewal before the JWT's exp, and the dashboard token."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import msgspec
import pytest

from providers import (
    CheckOutcome,
    Msisdn,
    ProviderAuthError,
    ProviderError,
    ProviderProtocolError,
    ProviderUnavailable,
)
from providers.message_central import (
    MessageCentralSettings,
    MessageCentralVerify,
)
from tests.fakes.message_central import (
    CUSTOMER_ID,
    SEND_PATH,
    SETTINGS,
    TOKEN_PATH,
    FakeMessageCentral,
    b64url,
    make_jwt,
)
from tests.providers.conftest import NESTED, Clock

TO = Msisdn("91", "9876543210")
OTHER = Msisdn("91", "9123456780")


def params(request: httpx.Request) -> dict[str, str]:
    return dict(request.url.params)


# --- token: wrong credentials, caching, expiry, renewal ----------------------------------------------


@pytest.mark.parametrize(
    ("settings", "reason"),
    [
        (msgspec.structs.replace(SETTINGS, password="wrong-password"), "password is wrong"),
        (msgspec.structs.replace(SETTINGS, customer_id="C-NOPE"), "customerId is invalid"),
    ],
)
async def test_wrong_credentials_are_an_auth_error_without_retry(
    fake: FakeMessageCentral, verify: Callable[..., MessageCentralVerify], settings: MessageCentralSettings, reason: str
) -> None:
    with pytest.raises(ProviderAuthError) as info:
        await verify(settings).start(TO, code_length=6)
    assert reason in str(info.value)
    assert info.value.vendor_code == "400"
    assert [r.url.path for r in fake.requests] == [TOKEN_PATH]
    assert "wrong-password" not in str(info.value)


@pytest.mark.parametrize(
    ("status", "content", "expected"),
    [
        (503, b"", ProviderUnavailable),
        (429, b"", ProviderUnavailable),
        (400, b"<html>bad</html>", ProviderAuthError),
        (401, b"", ProviderAuthError),
        (200, b"<html>ok</html>", ProviderProtocolError),
        (200, b'{"status": 200}', ProviderAuthError),
        (200, b'{"status": 200, "token": ""}', ProviderAuthError),
    ],
)
async def test_token_call_failures_map_to_the_error_tree(
    fake: FakeMessageCentral,
    verify: Callable[..., MessageCentralVerify],
    status: int,
    content: bytes,
    expected: type[ProviderError],
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == TOKEN_PATH:
            return httpx.Response(status, content=content)
        return fake.handler(request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        with pytest.raises(ProviderError) as info:
            await MessageCentralVerify(SETTINGS, client).start(TO, code_length=6)
    assert type(info.value) is expected


async def test_one_login_serves_many_sends_and_checks(
    fake: FakeMessageCentral, verify: Callable[..., MessageCentralVerify], clock: Clock
) -> None:
    adapter = verify()
    for i in range(5):
        started = await adapter.start(Msisdn("91", f"98765432{i:02d}"), code_length=6)
        await adapter.check(Msisdn("91", f"98765432{i:02d}"), fake.last_code, reference=started.reference)
        clock.advance(600)
    assert fake.logins == 1
    assert len(fake.calls(TOKEN_PATH)) == 1


@pytest.mark.parametrize(
    ("lifetime_s", "kept_s", "renewed_s"),
    [(7 * 24 * 3600, 7 * 24 * 3600 - 301, 7 * 24 * 3600 - 299), (3600, 3299, 3301), (60, 29, 31)],
    ids=["7-days", "1-hour", "60-s-half-life"],
)
async def test_token_is_renewed_shortly_before_its_exp(
    fake: FakeMessageCentral,
    verify: Callable[..., MessageCentralVerify],
    clock: Clock,
    lifetime_s: float,
    kept_s: float,
    renewed_s: float,
) -> None:
    fake.token_lifetime_s = lifetime_s
    fake.timeout_s = 1.0
    adapter = verify()
    start = clock.now
    await adapter.start(TO, code_length=6)
    clock.now = start + kept_s
    await adapter.start(TO, code_length=6)
    assert fake.logins == 1
    clock.now = start + renewed_s
    await adapter.start(TO, code_length=6)
    assert fake.logins == 2


async def test_token_without_a_readable_exp_is_kept_for_an_hour(
    fake: FakeMessageCentral, verify: Callable[..., MessageCentralVerify], clock: Clock
) -> None:
    fake.opaque_tokens = True
    fake.timeout_s = 1.0
    adapter = verify()
    await adapter.start(TO, code_length=6)
    clock.advance(3599)
    await adapter.start(TO, code_length=6)
    assert fake.logins == 1
    clock.advance(2)
    await adapter.start(TO, code_length=6)
    assert fake.logins == 2


@pytest.mark.parametrize(
    "claims",
    [{"sub": CUSTOMER_ID}, {"exp": "tomorrow"}, {"exp": True}],
    ids=["no-exp", "string-exp", "bool-exp"],
)
async def test_jwt_with_an_unusable_exp_is_kept_for_an_hour(
    fake: FakeMessageCentral, verify: Callable[..., MessageCentralVerify], clock: Clock, claims: dict[str, Any]
) -> None:
    token = make_jwt(claims)
    fake.tokens[token] = clock.now + 10 * 3600
    adapter = verify(msgspec.structs.replace(SETTINGS, auth_token=token))
    await adapter.start(TO, code_length=6)
    clock.advance(3599)
    await adapter.start(OTHER, code_length=6)
    assert fake.logins == 0
    clock.advance(2)
    await adapter.start(Msisdn("91", "9000000001"), code_length=6)
    assert fake.logins == 1


async def test_jwt_with_claims_nested_past_the_decoder_limit_is_kept_for_an_hour(
    fake: FakeMessageCentral, verify: Callable[..., MessageCentralVerify], clock: Clock
) -> None:
    """The token is the vendor's too: claims nobody can read are no expiry, not a crash."""
    header, _, signature = make_jwt({}).split(".")
    token = f"{header}.{b64url(NESTED)}.{signature}"
    fake.tokens[token] = clock.now + 10 * 3600
    adapter = verify(msgspec.structs.replace(SETTINGS, auth_token=token))
    await adapter.start(TO, code_length=6)
    clock.advance(3601)
    await adapter.start(OTHER, code_length=6)
    assert fake.logins == 1


async def test_expired_token_is_renewed_once_and_the_check_retried(
    fake: FakeMessageCentral, verify: Callable[..., MessageCentralVerify]
) -> None:
    adapter = verify()
    started = await adapter.start(TO, code_length=6)
    fake.expire_tokens()
    assert await adapter.check(TO, fake.last_code, reference=started.reference) is CheckOutcome.APPROVED
    assert fake.logins == 2


async def test_dashboard_auth_token_skips_the_token_call(
    fake: FakeMessageCentral, verify: Callable[..., MessageCentralVerify]
) -> None:
    token = fake.issue_token(lifetime_s=5 * 365 * 24 * 3600)
    adapter = verify(MessageCentralSettings(base_url=SETTINGS.base_url, customer_id=CUSTOMER_ID, auth_token=token))
    await adapter.start(TO, code_length=6)
    assert [r.url.path for r in fake.requests] == [SEND_PATH]
    assert fake.requests[0].headers["authToken"] == token


async def test_refused_dashboard_token_without_password_is_an_auth_error(
    fake: FakeMessageCentral, verify: Callable[..., MessageCentralVerify]
) -> None:
    token = fake.issue_token()
    fake.expire_tokens()
    adapter = verify(MessageCentralSettings(base_url=SETTINGS.base_url, customer_id=CUSTOMER_ID, auth_token=token))
    with pytest.raises(ProviderAuthError):
        await adapter.start(TO, code_length=6)
    assert [r.url.path for r in fake.requests] == [SEND_PATH]


async def test_refused_dashboard_token_falls_back_to_the_password(
    fake: FakeMessageCentral, verify: Callable[..., MessageCentralVerify]
) -> None:
    token = fake.issue_token()
    fake.expire_tokens()
    await verify(msgspec.structs.replace(SETTINGS, auth_token=token)).start(TO, code_length=6)
    assert [r.url.path for r in fake.requests] == [SEND_PATH, TOKEN_PATH, SEND_PATH]
