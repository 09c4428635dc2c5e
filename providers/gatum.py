"""Gatum (Sempico Solutions) REST API: an :class:`~providers.base.SmsSender`.

Design decisions (vendor docs: https://restapi.gatum.io/desc/ and the Postman collection
https://documenter.getpostman.com/view/3547620/SWEB1aY9; markers as in :mod:`providers`):

* Login is Gatum's two-step "OAuth": ``/v1/authorize`` trades the web-cabinet username and password for
  an ``authorization_code``, ``/v1/accesstoken`` trades that for an ``access_token`` with a Unix
  ``expires_at`` (years ahead in the SDK examples). The token is kept in a :class:`~providers._token.TokenCache`
  (N concurrent first sends do one login), renewed five minutes before
  ``expires_at``, and a 401/403 from ``/v1/send`` triggers one re-login and one retry. A missing
  ``expires_at`` is treated as one hour [guess]. A permanent token made in the web cabinet
  (``GATUM_ACCESS_TOKEN``) skips the login; when it is refused the adapter logs in with
  username/password if those are configured too, else it fails with :class:`ProviderAuthError`.
* ``/v1/send`` takes a JSON *array* of messages; we always send one message to one number, in
  international digits without ``+``. ``lifetime`` (seconds, default 86400 [code, vendor SDKs]) is the
  code's remaining lifetime, so a late SMS is dropped by Gatum rather than delivering a dead code. The
  range is not documented: the value is kept within 60..86400 s [guess: the default is the ceiling].
* The success body is not documented by Gatum; a third-party wrapper reads it as
  ``{"status": true, "data": [{"sending": {"details": {"number", "senderID", "sentID"}}}]}`` [code].
  The ``status`` envelope is the one the vendor's SDK and errors show [code], so ``{"status": true}``
  is acceptance: ``sentID`` is searched for anywhere under ``data`` (its nesting is a [guess]) and a
  missing one gives ``message_id=None``. Any other 2xx is a bad reply, which the dispatcher reads as
  "may have delivered" (no second code through another provider).
* Errors come as ``{"status": false, "error_code": <int>, "errors": {field: [messages]}, "error": "..."}``
  with HTTP 200 or 4xx [code]. Vendor messages may echo what we sent (number, text), so details are
  scrubbed: our text, number and credentials are replaced and every run of 4+ digits is masked. A
  ``{"status": false}`` envelope with ``error_code`` 401/403 is handled like an HTTP 401 [guess].
* ``max_length`` is 1530 = 10 concatenated GSM-7 parts of 153: Gatum documents no limit [guess], ten
  parts is what carriers reliably reassemble, and an OTP text is far shorter anyway.
* Receipts are a JSON array of per-part DLRs that must be acknowledged by echoing the ``id_state``
  values as strings [code]. That ``id_state`` equals the send's ``sentID`` is inferred: the vendor's
  own GET-API SDK prints ``id_state`` as the "SMS ID" [code, Sempico/gatum-api-py README], and
  ``sentID`` is the id the send reply gives the SMS [code, third-party]. Should they differ, the DLR
  is still acknowledged (so Gatum stops re-sending it), the service counts it as unmatched
  (``applied: 0`` in the webhook answer), and the verification keeps its send-time delivery state.
  Only ``DELIVRD`` was seen; the other SMPP states are [guess], and an unknown word is ``unknown``.
  Lost receipts: :meth:`GatumSender.delivery_status` searches ``/v1/sms-full-data`` (see there).
  A DLR for one part of a longer message (``part_no`` < ``num_parts``) says nothing of the others,
  so only a delivered *last* part (or a single-part message) counts as delivered. The DLR carries the
  message text (``text_sms``, i.e. the code): the receipt struct does not declare that field, so it is
  never decoded, let alone copied.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, TypeVar

import httpx
import msgspec

from . import _http
from ._gatum_dlr import dlr_update, parse_receipts
from ._token import Grant, TokenCache
from ._validity import validity_in
from .base import (
    DEFAULT_SEND_OPTIONS,
    DeliveryUpdate,
    Msisdn,
    ProviderAuthError,
    ProviderProtocolError,
    ProviderRejected,
    SendOptions,
    SendReceipt,
    VendorSettings,
)
from .registry import ProviderSpec

__all__ = ("SPEC", "GatumSender", "GatumSettings", "parse_receipts")

_NUMERIC_SENDER = re.compile(r"\d{3,15}")
_ALPHANUMERIC_SENDER = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._-]{0,10}")
_REFRESH_MARGIN_S = 300.0  # renew this long before the vendor's expires_at
_DEFAULT_TOKEN_TTL_S = 3600.0  # when /v1/accesstoken omits expires_at [guess]
_MIN_TOKEN_USE_S = 60.0
_NO_LOGIN = "access token refused and no username/password to log in with"
_MIN_LIFETIME_S = 60  # [guess]: Gatum documents no lower bound
_MAX_LIFETIME_S = 86400  # the documented default [code, vendor SDKs]
_IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{0,63}")

_T = TypeVar("_T")


class GatumSettings(VendorSettings, frozen=True, kw_only=True):
    """``GATUM_*`` variables. Either ``username`` + ``password`` or ``access_token`` (or both) configure it."""

    secret_fields: ClassVar[frozenset[str]] = frozenset({"password", "access_token"})

    base_url: str = "https://restapi.gatum.io"
    username: str = ""
    password: str = ""
    sender: str = ""  # senderID, registered with Gatum: numeric 3-15 digits or alphanumeric up to 11
    access_token: str = ""  # permanent token from the web cabinet; skips the login

    def __post_init__(self) -> None:
        if bool(self.username) != bool(self.password):
            raise ValueError("GATUM_USERNAME and GATUM_PASSWORD must be set together")
        configured = bool(self.access_token or self.username)
        if configured and not self.sender:
            raise ValueError("GATUM_SENDER is required when Gatum is configured")
        if self.sender and not (
            _NUMERIC_SENDER.fullmatch(self.sender)
            or (_ALPHANUMERIC_SENDER.fullmatch(self.sender) and not self.sender.isdigit())
        ):
            raise ValueError(
                "GATUM_SENDER must be 3-15 digits or up to 11 letters/digits (space . _ - allowed after the first)"
            )
        if not self.base_url.startswith(("https://", "http://")):
            raise ValueError("GATUM_BASE_URL must be an http(s) URL")


# --- vendor shapes (only the fields we read) ------------------------------------------------------


class _Envelope(msgspec.Struct):
    """Every Gatum reply: ``status`` plus either ``data`` or the error fields."""

    status: bool
    data: Any = None
    error_code: int | str | None = None
    errors: Any = None
    error: Any = None


_ENVELOPE = msgspec.json.Decoder(_Envelope)


class _AuthorizeData(msgspec.Struct):
    authorization_code: str


class _TokenData(msgspec.Struct):
    access_token: str
    expires_at: int | float | None = None


def _vendor_messages(envelope: _Envelope) -> list[str]:
    messages: list[str] = []
    if isinstance(envelope.error, str) and envelope.error:
        messages.append(envelope.error)
    if isinstance(envelope.errors, Mapping):
        for field, value in envelope.errors.items():
            items = value if isinstance(value, list) else [value]
            texts = [str(item) for item in items if isinstance(item, str | int | float)]
            messages.append(f"{field}: {'; '.join(texts)}" if texts else str(field))
    elif isinstance(envelope.errors, list):
        messages.extend(str(item) for item in envelope.errors if isinstance(item, str))
    elif isinstance(envelope.errors, str):
        messages.append(envelope.errors)
    return messages


def _vendor_code(envelope: _Envelope, secrets: tuple[str, ...]) -> str | None:
    """The most specific code Gatum gave: an identifier-like ``error``/message, else ``error_code``."""
    candidates: list[Any] = [envelope.error]
    if isinstance(envelope.errors, Mapping):
        for value in envelope.errors.values():
            candidates.extend(value if isinstance(value, list) else [value])
    for candidate in candidates:
        if not (isinstance(candidate, str) and _IDENTIFIER.fullmatch(candidate)):
            continue
        if _http.scrub(candidate, secrets=secrets) == candidate:
            return candidate
    if envelope.error_code is not None:
        return str(envelope.error_code)
    return None


def _find_sent_id(value: Any, depth: int = 0) -> str | None:
    """``sentID`` wherever it sits under ``data`` (the nesting is a [guess])."""
    if depth > 6:
        return None
    if isinstance(value, Mapping):
        sent_id = value.get("sentID")
        if isinstance(sent_id, int | str) and not isinstance(sent_id, bool) and str(sent_id):
            return str(sent_id)
        children: Any = value.values()
    elif isinstance(value, list):
        children = value
    else:
        return None
    for child in children:
        found = _find_sent_id(child, depth + 1)
        if found is not None:
            return found
    return None


def _status_item(data: Any, message_id: str) -> str | None:
    """The ``state`` of the item about ``message_id`` in an ``sms-full-data`` reply, if one is there."""
    items = data if isinstance(data, list) else [data]
    for item in items:
        if isinstance(item, Mapping) and isinstance(item.get("state"), str):
            ids = {str(item.get(key)) for key in ("id_state", "sentID", "id") if item.get(key) is not None}
            if message_id in ids:
                return str(item["state"])
    return None


class GatumSender:
    """Sends through ``POST /v1/send`` with a cached ``X-Access-Token``."""

    name = "gatum"
    max_length = 1530

    def __init__(
        self,
        settings: GatumSettings,
        client: httpx.AsyncClient,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._settings = settings
        self._client = client
        self._clock = clock  # wall clock: expires_at is Unix time
        self._base = settings.base_url.rstrip("/")
        self._can_login = bool(settings.username and settings.password)
        permanent = Grant(settings.access_token, math.inf) if settings.access_token else None
        self._tokens = TokenCache(self._login, clock=clock, initial=permanent)
        self._secrets = tuple(s for s in (settings.username, settings.password, settings.access_token) if s)

    # --- token ----------------------------------------------------------------------------------

    async def _login(self) -> Grant:
        if not self._can_login:
            raise ProviderAuthError(self.name, _NO_LOGIN)
        settings = self._settings
        response = await _http.call(
            self._client,
            self.name,
            settings,
            "POST",
            f"{self._base}/v1/authorize",
            delivers=False,
            json={"username": settings.username, "password": settings.password},
        )
        code = self._login_data(response, "authorize", _AuthorizeData)
        response = await _http.call(
            self._client,
            self.name,
            settings,
            "POST",
            f"{self._base}/v1/accesstoken",
            delivers=False,
            json={"authorization_code": code.authorization_code},
        )
        granted = self._login_data(response, "accesstoken", _TokenData)
        now = self._clock()
        expires_at = now + _DEFAULT_TOKEN_TTL_S if granted.expires_at is None else float(granted.expires_at)
        # A token reported as (nearly) expired, e.g. under clock skew, is still used for a minute rather
        # than logging in on every send; a 401 renews it anyway.
        return Grant(granted.access_token, max(expires_at - now - _REFRESH_MARGIN_S, _MIN_TOKEN_USE_S))

    def _login_data(self, response: httpx.Response, step: str, shape: type[_T]) -> _T:
        """``data`` of a login step's reply, or the error the failure maps to."""
        status = response.status_code
        if _http.unavailable(status):
            _http.raise_for_status(self.name, response)
        envelope = _http.decode_or_none(_ENVELOPE, response)
        if envelope is not None and not envelope.status:
            reasons = "; ".join(_vendor_messages(envelope)) or "no reason given"
            raise ProviderAuthError(
                self.name,
                _http.scrub(f"login refused at /v1/{step} (HTTP {status}): {reasons}", secrets=self._secrets),
                status_code=status,
                vendor_code=_vendor_code(envelope, self._secrets),
            )
        if status >= 300:
            raise ProviderAuthError(self.name, f"login refused at /v1/{step} (HTTP {status})", status_code=status)
        envelope = _http.decode(_ENVELOPE, response, self.name)
        try:
            return msgspec.convert(envelope.data, shape, strict=True)
        except msgspec.ValidationError as exc:
            raise ProviderProtocolError(
                self.name, f"unexpected /v1/{step} reply (HTTP {status}): {exc}", status_code=status
            ) from exc

    # --- send -----------------------------------------------------------------------------------

    async def send(
        self, to: Msisdn, text: str, *, reference: str, options: SendOptions = DEFAULT_SEND_OPTIONS
    ) -> SendReceipt:
        if len(text) > self.max_length:
            raise ProviderRejected(self.name, f"text too long ({len(text)} > {self.max_length} characters)")
        body = [
            {
                "number": [to.digits],
                "senderID": options.sender_id or self._settings.sender,
                "text": text,
                "type": "sms",
                "delivery": True,
            }
        ]
        lifetime = validity_in(options, unit_s=1, lowest=_MIN_LIFETIME_S, highest=_MAX_LIFETIME_S)
        if lifetime is not None:
            body[0]["lifetime"] = lifetime
        token = await self._tokens.get()
        response = await self._post_send(token, body)
        if self._auth_refused(response):
            if not self._can_login:  # the refused permanent token stays: there is nothing to replace it with
                raise ProviderAuthError(self.name, _NO_LOGIN)
            token = await self._tokens.renew(token)
            response = await self._post_send(token, body)
            if self._auth_refused(response):
                raise ProviderAuthError(
                    self.name,
                    f"access token refused after a fresh login (HTTP {response.status_code})",
                    status_code=response.status_code,
                )
        return self._receipt(response, to, text)

    async def delivery_status(self, message_id: str, *, to: Msisdn, sent_at_s: float) -> DeliveryUpdate | None:
        """``POST /v1/sms-full-data`` filtered by number and a time window [code: vendor SDKs' parameters].

        Its reply is not documented: the first object under ``data`` whose ``id_state``/``sentID``/``id``
        is our message id and that has a ``state`` is read like a DLR; anything else is None [guess].
        The window is a day wider on each side, since its time zone is not documented either.
        """
        start, end = sent_at_s - 86400, self._clock() + 86400
        window = " - ".join(time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t)) for t in (start, end))
        body = {"phone": [to.digits], "time_period": window, "type_sms": "sms", "limit": 50}
        response = await _http.call(
            self._client,
            self.name,
            self._settings,
            "POST",
            f"{self._base}/v1/sms-full-data",
            delivers=False,
            json=body,
            headers={"X-Access-Token": await self._tokens.get()},
        )
        _http.raise_for_status(self.name, response, to=to, secrets=self._secrets)
        envelope = _http.decode(_ENVELOPE, response, self.name)
        found = _status_item(envelope.data, message_id)
        return None if found is None else dlr_update(found, message_id)

    async def _post_send(self, token: str, body: list[dict[str, Any]]) -> httpx.Response:
        return await _http.call(
            self._client,
            self.name,
            self._settings,
            "POST",
            f"{self._base}/v1/send",
            delivers=True,
            json=body,
            headers={"X-Access-Token": token},
        )

    @staticmethod
    def _auth_refused(response: httpx.Response) -> bool:
        if response.status_code in (401, 403):
            return True
        envelope = _http.decode_or_none(_ENVELOPE, response)
        return envelope is not None and not envelope.status and str(envelope.error_code) in ("401", "403")

    def _receipt(self, response: httpx.Response, to: Msisdn, text: str) -> SendReceipt:
        status = response.status_code
        if _http.unavailable(status):
            _http.raise_for_status(self.name, response)
        envelope = _http.decode_or_none(_ENVELOPE, response)
        secrets = (text, to.digits, to.national_number, *self._secrets)  # an echoed number shows as ***
        if envelope is not None and not envelope.status:
            reasons = "; ".join(_vendor_messages(envelope)) or "no reason given"
            raise ProviderRejected(
                self.name,
                _http.scrub(f"send refused (HTTP {status}) for {to.masked()}: {reasons}", secrets=secrets),
                status_code=status,
                vendor_code=_vendor_code(envelope, secrets),
            )
        _http.raise_for_status(self.name, response, secrets=secrets, text=text)
        envelope = _http.decode(_ENVELOPE, response, self.name)
        return SendReceipt(provider=self.name, message_id=_find_sent_id(envelope.data))


def _is_configured(settings: GatumSettings) -> bool:
    return bool(settings.sender and (settings.access_token or (settings.username and settings.password)))


SPEC = ProviderSpec(
    name="gatum",
    env_prefix="GATUM",
    settings_type=GatumSettings,
    build=GatumSender,
    is_configured=_is_configured,
    receipts=parse_receipts,
)
