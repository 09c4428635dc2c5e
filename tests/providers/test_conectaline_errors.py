"""Which Conectaline refusals are about our credentials (renew, then fail as ``auth_failed``) and which
are about the message or the account (fail as ``rejected``, nothing to renew).

The vendor documents only an ``error`` object with a ``message`` (and, in its login example, a
``code``), and may answer errors with HTTP 200. So the HTTP status decides first (401/403), then a
numeric ``error.code``, and the message text only when neither says anything, by words that are
about a token or credentials and never about balance or credit: "Su saldo ha expirado" (your balance
has expired) is a refusal, "Token expirado" is a refused token.
"""

from __future__ import annotations

import httpx
import pytest

from providers import Msisdn, ProviderAuthError, ProviderError, ProviderRejected
from providers.conectaline import ConectalineSms
from tests.fakes.conectaline import FakeConectaline, build
from tests.providers.conftest import BY_ID, Adapter

TO = Msisdn("34", "600100200")
TEXT = "Tu código de Acme es 482913."


@pytest.fixture
def case() -> Adapter:
    return BY_ID["conectaline-api_token"]


@pytest.fixture
def fixed(client: httpx.AsyncClient) -> ConectalineSms:
    return build(client)


async def refusal(fixed: ConectalineSms, fake: FakeConectaline, status: int, error: object) -> ProviderError:
    fake.next_response = httpx.Response(status, json={"error": error})
    with pytest.raises(ProviderError) as info:
        await fixed.send(TO, TEXT, reference="vf_1")
    return info.value


@pytest.mark.parametrize(
    "message",
    [
        "Su saldo ha expirado",  # balance expired: the case that was read as a refused token
        "Saldo expirado",
        "Su saldo ha caducado",
        "Saldo insuficiente",
        "Crédito expirado",
        "Your balance has expired",
        "Your credit has expired",
        "Insufficient funds",
        "La configuración ha expirado",  # something else expired, not the token
        "Remitente no autorizado",  # sender not authorised: a route refusal, a new token changes nothing
        "This action is unauthorized.",
        "El número no está autorizado",
        "Token válido, pero su saldo ha expirado",  # balance words win over a mention of the token
    ],
)
async def test_a_refusal_that_is_not_about_credentials_is_rejected_not_auth(
    fixed: ConectalineSms, fake: FakeConectaline, message: str
) -> None:
    exc = await refusal(fixed, fake, 200, {"message": message})
    assert type(exc) is ProviderRejected, f"{message!r}: {type(exc).__name__}"
    assert len(fake.pushes) == 1


@pytest.mark.parametrize(
    "message",
    [
        "Token expirado",
        "El token ha caducado",
        "Token inválido",
        "Invalid token",
        "The token has expired",
        "Unauthenticated.",
        "Usuario no autenticado",
        "Credenciales incorrectas",
        "Invalid credentials",
    ],
)
async def test_a_refusal_of_the_token_is_an_auth_failure(
    fixed: ConectalineSms, fake: FakeConectaline, message: str
) -> None:
    exc = await refusal(fixed, fake, 200, {"message": message})
    assert type(exc) is ProviderAuthError, f"{message!r}: {type(exc).__name__}"


@pytest.mark.parametrize("status", [401, 403])
async def test_the_http_status_decides_before_the_text(
    fixed: ConectalineSms, fake: FakeConectaline, status: int
) -> None:
    exc = await refusal(fixed, fake, status, {"message": "Su saldo ha expirado"})
    assert type(exc) is ProviderAuthError


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        ({"message": "Token expirado", "code": 402}, ProviderRejected),
        ({"message": "Token expirado", "code": "402"}, ProviderRejected),
        ({"message": "Su saldo ha expirado", "code": 401}, ProviderAuthError),
        ({"message": "Su saldo ha expirado", "code": "403"}, ProviderAuthError),
    ],
)
async def test_a_numeric_error_code_decides_before_the_text(
    fixed: ConectalineSms, fake: FakeConectaline, error: dict[str, object], expected: type[ProviderError]
) -> None:
    exc = await refusal(fixed, fake, 200, error)
    assert type(exc) is expected
    assert exc.vendor_code == str(error["code"])


async def test_a_text_error_code_is_read_like_the_message(fixed: ConectalineSms, fake: FakeConectaline) -> None:
    """A code that is a word ("token_expired", "balance_expired") says as much as a message would."""
    assert type(await refusal(fixed, fake, 200, {"message": "", "code": "token_expired"})) is ProviderAuthError
    assert type(await refusal(fixed, fake, 200, {"message": "", "code": "balance_expired"})) is ProviderRejected
