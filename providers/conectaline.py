"""Conectaline WebSMS: plain SMS carrying our code. PROVISIONAL: most of this contract is a guess.

Only the authentication page of the vendor docs was retrievable [doc]; everything about sending
comes from the vendor's curl/PHP examples [seed] (https://websms.conectaline.com/docs/ejemplos-api/1026;
markers as in :mod:`providers`).
Capture a real reply before trusting the parsing below. Design decisions:

* Two credential kinds [doc]: the fixed token of an "API" user (``CONECTALINE_API_TOKEN``), or
  ``CONECTALINE_EMAIL`` + ``CONECTALINE_PASSWORD`` exchanged at ``POST /v1/login`` (form-encoded
  [doc]) for a temporary token. Exactly one kind may be configured, so it is never ambiguous which
  one failed. Each is presented the way the vendor's own example for that kind does [seed]: the
  fixed token as the ``api_token`` form field, the temporary one as ``Authorization: Bearer``.
  The seed says either transport works for either token, but only these pairings are shown.
* Login replies are judged by the presence of an ``error`` key, not the HTTP status, as the vendor's
  examples do [doc]. One of those examples reads ``token`` at the top level instead of under
  ``data``; both are accepted.
* Token lifetime: the units of ``expires_in`` and the format of ``expires_at`` are unknown [guess].
  ``expires_in`` is read as seconds (number or numeric string); ``expires_at`` as a unix time
  (seconds, or milliseconds when huge) or an ISO-8601 / ``YYYY-MM-DD HH:MM:SS`` string, naive
  values taken as UTC. The earliest plausible expiry wins; a value already in the past is ignored
  (it more likely means a timezone mismatch than a dead token, and honouring it would log in on
  every send); with nothing usable the token is kept 30 minutes. It is renewed a little before
  expiry, once for any number of concurrent sends (an ``asyncio.Lock``), and on a refusal of a
  temporary token (401/403, else a numeric ``error.code`` 401/403, else, as a last resort since this
  vendor may answer errors with HTTP 200, an ``error`` that names the token or credentials and not
  the balance: :func:`refuses_credentials`) the adapter logs in again once and retries the send once.
  A fixed token cannot be renewed: its refusal is :class:`ProviderAuthError` at once.
* ``numbers`` is the international number as digits without ``+``: the vendor's examples say "must
  contain the international prefix" and show ``34600100100`` [seed].
* Send replies: ``{"data": ...}`` is success, checked first like the vendor's example does (a reply
  with both keys is more safely a success than a failover that sends a second code);
  ``{"error": {"message": ...}}`` is :class:`ProviderRejected`, unless HTTP 429/5xx
  (:class:`ProviderUnavailable`). What ``data`` holds is unknown [guess]: the message id is taken
  from ``data.id``, ``data.ids[0]``, ``data.message_id`` or ``data[0].id`` when present, else None.
* ``max_length = 459`` (3 concatenated GSM-7 parts): the vendor states no limit; three parts is
  what any concatenating gateway takes, and is well above any OTP template.
* Receipts: the vendor's DLR mechanism is unknown. :func:`parse_receipts` is a tolerant GUESS that
  accepts a JSON object or list (optionally under ``data``) or a form-encoded body, with an id in
  ``id``/``message_id``/``sms_id`` and a state in ``status``/``state``, mapping common English,
  SMPP and Spanish words. Replace it once the real callback is known.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

import httpx
import msgspec

from . import _http
from ._token import Grant, TokenCache
from .base import (
    DEFAULT_SEND_OPTIONS,
    MAX_VENDOR_BODY_BYTES,
    DeliveryStatus,
    DeliveryUpdate,
    Msisdn,
    ProviderAuthError,
    ProviderProtocolError,
    ProviderRejected,
    ReceiptBatch,
    ReceiptError,
    SendOptions,
    SendReceipt,
    VendorSettings,
)
from .registry import ProviderSpec

__all__ = ("SPEC", "ConectalineSettings", "ConectalineSms", "parse_receipts", "refuses_credentials")

_FALLBACK_LIFETIME_S = 1800.0
# Last resort only (see `refuses_credentials`): words about a token or credentials, and words about
# balance or credit, which win ("Su saldo ha expirado" is no balance, not a dead token).
_CREDENTIAL_WORDS = re.compile(r"\btoken|unauthenticated|\bno autenticad|credencial|credential", re.I)
_ACCOUNT_WORDS = re.compile(r"saldo|balance|cr[eé]dito|\bcredit\b|fondos|\bfunds\b", re.I)
_AUTH_STATUSES = frozenset({401, 403})


class ConectalineSettings(VendorSettings, frozen=True, kw_only=True):
    secret_fields = frozenset({"api_token", "password"})

    base_url: str = "https://apisms.conectaline.com"  # without /v1: the adapter adds the version
    api_token: str = ""  # fixed token of an "API" user
    email: str = ""  # or: login for temporary tokens
    password: str = ""
    configuration_name: str = ""  # sender/route configuration defined in the vendor's panel

    def __post_init__(self) -> None:
        if self.api_token and (self.email or self.password):
            raise ValueError("set either `api_token` or `email` + `password`, not both")
        if bool(self.email) != bool(self.password):
            raise ValueError("`email` and `password` must be set together")
        if (self.api_token or self.email) and not self.configuration_name:
            raise ValueError("`configuration_name` is required")


class _Envelope(msgspec.Struct):
    data: Any = None
    error: Any = None
    token: Any = None  # login only: one vendor example reads these at the top level
    expires_in: Any = None
    expires_at: Any = None


class _LoginData(msgspec.Struct):
    token: str
    expires_in: Any = None
    expires_at: Any = None


_ENVELOPE = msgspec.json.Decoder(_Envelope)


class ConectalineSms:
    name = "conectaline"
    max_length = 459

    def __init__(
        self,
        settings: ConectalineSettings,
        client: httpx.AsyncClient,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings = settings
        self._client = client
        self._clock = clock  # injectable so tests can move past a token's expiry
        base = settings.base_url.rstrip("/")
        self._login_url = f"{base}/v1/login"
        self._push_url = f"{base}/v1/push/simple"
        self._tokens = TokenCache(self._login, clock=clock)  # temporary tokens only: a fixed one is never renewed
        self._secrets = (settings.api_token, settings.password, settings.email)

    async def send(
        self, to: Msisdn, text: str, *, reference: str, options: SendOptions = DEFAULT_SEND_OPTIONS
    ) -> SendReceipt:
        form = {"configuration_name": self._settings.configuration_name, "message": text, "numbers": to.digits}
        if self._settings.api_token:
            return await self._push({**form, "api_token": self._settings.api_token}, {}, to, text)
        token = await self._tokens.get()
        try:
            return await self._push(form, {"Authorization": f"Bearer {token}"}, to, text)
        except ProviderAuthError:
            token = await self._tokens.renew(token)
        return await self._push(form, {"Authorization": f"Bearer {token}"}, to, text)

    # --- sending -------------------------------------------------------------------------------

    async def _push(self, form: dict[str, str], headers: dict[str, str], to: Msisdn, text: str) -> SendReceipt:
        response = await _http.call(
            self._client,
            self.name,
            self._settings,
            "POST",
            self._push_url,
            delivers=True,
            data=form,
            headers={"Accept": "application/json", **headers},
        )
        status = response.status_code
        if _http.unavailable(status):
            _http.raise_for_status(self.name, response)
        body = self._decode(response, to, text)
        if body.data is not None:
            if status >= 300:  # data with an error status: trust the status
                self._raise_status(response, to, text)
            return SendReceipt(provider=self.name, message_id=_message_id(body.data))
        if body.error is not None:
            message, code = _error_text(body.error)
            reason = f"HTTP {status}: {self._scrub(message, to, text)}"
            if refuses_credentials(status, code, message):
                raise ProviderAuthError(self.name, f"token refused ({reason})", status_code=status, vendor_code=code)
            raise ProviderRejected(self.name, f"refused ({reason})", status_code=status, vendor_code=code)
        if status >= 300:
            self._raise_status(response, to, text)
        raise ProviderProtocolError(
            self.name, f"reply has neither `data` nor `error` (HTTP {status})", status_code=status
        )

    def _decode(self, response: httpx.Response, to: Msisdn | None, text: str) -> _Envelope:
        try:
            return _ENVELOPE.decode(response.content)
        except _http.UNREADABLE as exc:
            if response.status_code >= 300:
                self._raise_status(response, to, text)
            raise ProviderProtocolError(
                self.name,
                f"unexpected response shape (HTTP {response.status_code}): {_http.reason(exc)}",
                status_code=response.status_code,
            ) from exc

    def _raise_status(self, response: httpx.Response, to: Msisdn | None, text: str) -> None:
        _http.raise_for_status(self.name, response, to=to, text=text, secrets=self._secrets)

    def _scrub(self, message: str, to: Msisdn | None, text: str) -> str:
        """Vendor messages may echo what we sent: keep text, numbers, codes and credentials out of errors."""
        return _http.scrub(message, secrets=self._secrets, to=to, message=text)

    # --- temporary token -----------------------------------------------------------------------

    async def _login(self) -> Grant:
        response = await _http.call(
            self._client,
            self.name,
            self._settings,
            "POST",
            self._login_url,
            delivers=False,
            data={"email": self._settings.email, "password": self._settings.password},
            headers={"Accept": "application/json"},
        )
        status = response.status_code
        if _http.unavailable(status):
            _http.raise_for_status(self.name, response)
        try:
            body = _ENVELOPE.decode(response.content)
        except _http.UNREADABLE as exc:
            if status >= 300:
                raise ProviderAuthError(self.name, f"login refused (HTTP {status})", status_code=status) from exc
            raise ProviderProtocolError(
                self.name, f"unexpected login reply (HTTP {status}): {_http.reason(exc)}", status_code=status
            ) from exc
        if body.error is not None or status >= 300:
            message, code = _error_text(body.error) if body.error is not None else ("", None)
            reason = self._scrub(message, None, "")
            raise ProviderAuthError(
                self.name, f"login refused (HTTP {status}): {reason}", status_code=status, vendor_code=code
            )
        top_level = {"token": body.token, "expires_in": body.expires_in, "expires_at": body.expires_at}
        raw = body.data if body.data is not None else top_level
        try:
            data = msgspec.convert(raw, _LoginData)
        except msgspec.ValidationError as exc:
            raise ProviderProtocolError(self.name, f"login reply without a token: {exc}", status_code=status) from exc
        if not data.token:
            raise ProviderProtocolError(self.name, "login reply with an empty token", status_code=status)
        lifetime = token_lifetime(data.expires_in, data.expires_at, now=time.time())
        return Grant(data.token, lifetime - min(60.0, lifetime * 0.1))  # renewed a little before it expires


def refuses_credentials(status: int, code: str | None, message: str) -> bool:
    """Whether a refusal is about our token (renew it) rather than the message or the account.

    Documented fields first: the HTTP status (401/403), then a numeric ``error.code`` (the login
    example carries one). This vendor may answer errors with HTTP 200, so when neither says anything
    the text decides: a word code or the message must name a token or credentials and no balance.
    """
    if status in _AUTH_STATUSES:
        return True
    if code is not None and code.strip().isdigit():
        return int(code) in _AUTH_STATUSES
    text = f"{code or ''} {message}"
    return bool(_CREDENTIAL_WORDS.search(text)) and not _ACCOUNT_WORDS.search(text)


def token_lifetime(expires_in: Any, expires_at: Any, *, now: float) -> float:
    """Seconds the token stays valid: the earliest plausible of the two fields, else 30 minutes."""
    candidates = []
    seconds = _number(expires_in)
    if seconds is not None and seconds > 0:
        candidates.append(seconds)
    at = _unix_time(expires_at)
    if at is not None and at > now:
        candidates.append(at - now)
    return min(candidates) if candidates else _FALLBACK_LIFETIME_S


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def _unix_time(value: Any) -> float | None:
    number = _number(value)
    if number is not None:
        return number / 1000 if number > 1e11 else number  # milliseconds when it is that large
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())  # ISO 8601 and "YYYY-MM-DD HH:MM:SS"
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)  # [guess] naive times as UTC
    return parsed.timestamp()


def _error_text(error: Any) -> tuple[str, str | None]:
    """The vendor's ``error``: usually ``{"message": ..}``, sometimes a bare string."""
    if isinstance(error, dict):
        message, code = error.get("message"), error.get("code")
        text = message if isinstance(message, str) else msgspec.json.encode(message).decode()
        return text, None if code is None else str(code)
    if isinstance(error, str):
        return error, None
    return msgspec.json.encode(error).decode(), None


def _message_id(data: Any) -> str | None:
    if isinstance(data, list):
        data = data[0] if data else None
    if not isinstance(data, dict):
        return None
    ids = data.get("ids")
    for value in (data.get("id"), ids[0] if isinstance(ids, list) and ids else None, data.get("message_id")):
        if isinstance(value, str | int) and not isinstance(value, bool) and value != "":
            return str(value)
    return None


# --- delivery receipts (a guess: see the module docstring) ------------------------------------

_STATES: dict[str, DeliveryStatus] = {
    **dict.fromkeys(("delivered", "delivrd", "entregado"), DeliveryStatus.DELIVERED),
    **dict.fromkeys(("sent", "accepted", "acceptd", "enroute", "enviado"), DeliveryStatus.SENT),
    **dict.fromkeys(("queued", "pending", "scheduled", "buffered", "pendiente"), DeliveryStatus.QUEUED),
    **dict.fromkeys(("failed", "rejected", "rejectd", "error", "fallido", "rechazado"), DeliveryStatus.FAILED),
    **dict.fromkeys(
        ("undelivered", "undeliv", "expired", "no entregado", "caducado", "expirado"), DeliveryStatus.UNDELIVERED
    ),
}
_ANY: msgspec.json.Decoder[Any] = msgspec.json.Decoder()
_ID_KEYS = ("id", "message_id", "sms_id")
_STATE_KEYS = ("status", "state")


def parse_receipts(body: bytes, headers: Mapping[str, str]) -> ReceiptBatch:
    """Tolerant parser for a callback whose shape is unknown (see the module docstring)."""
    items = _receipt_items(body, headers)
    return ReceiptBatch(updates=[_update(item) for item in items])


def _receipt_items(body: bytes, headers: Mapping[str, str]) -> list[Any]:
    if len(body) > MAX_VENDOR_BODY_BYTES:
        raise ReceiptError(f"conectaline: body over {MAX_VENDOR_BODY_BYTES // 1024} KiB")
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "").lower()
    stripped = body.strip()
    if stripped[:1] in (b"{", b"[") or "json" in content_type:
        decoded = _http.decode_receipt(_ANY, stripped, "conectaline: bad JSON")
        if isinstance(decoded, dict) and not any(k in decoded for k in _ID_KEYS) and "data" in decoded:
            decoded = decoded["data"]
        if isinstance(decoded, dict):
            return [decoded]
        if isinstance(decoded, list):
            return decoded
        raise ReceiptError("conectaline: receipt is neither an object nor a list")
    try:
        pairs = parse_qsl(stripped.decode(), keep_blank_values=True, strict_parsing=True)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ReceiptError("conectaline: body is neither JSON nor form-encoded") from exc
    return [dict(pairs)]


def _update(item: Any) -> DeliveryUpdate:
    if not isinstance(item, dict):
        raise ReceiptError("conectaline: receipt item is not an object")
    message_id = next((item[k] for k in _ID_KEYS if _scalar(item.get(k))), None)
    state = next((item[k] for k in _STATE_KEYS if _scalar(item.get(k))), None)
    if message_id is None or state is None:
        raise ReceiptError("conectaline: receipt needs an id (id/message_id/sms_id) and a status (status/state)")
    vendor_status = str(state).strip()
    return DeliveryUpdate(
        status=_STATES.get(vendor_status.lower(), DeliveryStatus.UNKNOWN),
        message_id=str(message_id),
        vendor_status=vendor_status[:40],
    )


def _scalar(value: Any) -> bool:
    return isinstance(value, str | int) and not isinstance(value, bool) and str(value).strip() != ""


SPEC = ProviderSpec(
    name="conectaline",
    env_prefix="CONECTALINE",
    settings_type=ConectalineSettings,
    build=ConectalineSms,
    is_configured=lambda settings: bool(settings.api_token or (settings.email and settings.password)),
    receipts=parse_receipts,
)
