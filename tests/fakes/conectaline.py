"""A fake of Conectaline WebSMS (docs: see ``providers/conectaline.py``), for MockTransport. PROVISIONAL.

Routes on the path suffix only, so any host works. Where each shape comes from (the vendor's API
examples page, https://websms.conectaline.com/docs/ejemplos-api/1026):

* ``POST /v1/login`` (form ``email``, ``password``) -> ``{"data": {"token", "expires_in",
  "expires_at"}}`` [doc: the PHP examples read ``$output['data']['token']`` and both expiry fields];
  the Python example reads them at the top level (``login_top_level``) [doc]. The UNITS are not
  documented: ``expires_in`` is served in seconds and ``expires_at`` as a naive ``YYYY-MM-DD
  HH:MM:SS`` [guess]; ``login_fields`` serves other readings (minutes, local time, ISO, Unix).
* Errors -> ``{"error": {"message": ..}}`` [doc: ``$output['error']['message']``]; the Guzzle example
  prints ``$error['error']`` as a string, so ``string_errors`` serves ``{"error": "..."}`` [doc].
  Which HTTP status an error comes with is not documented (the examples test for the ``error`` key,
  not the status): ``login_error_status`` / ``auth_error_status`` / ``business_error_status`` [guess].
* ``POST /v1/push/simple`` (form ``configuration_name``, ``message``, ``numbers``, and ``api_token`` or
  ``Authorization: Bearer``) [doc: curl examples] -> ``{"data": ...}`` [doc: ``isset($result['data'])``].
  What ``data`` holds is NOT documented (the example only ``var_dump``s it): ``push_data`` picks a
  reading, ``"object"`` (default, ``{"id", "total", "status"}``), ``"list"`` (``[{"id"}]``) or
  ``"opaque"`` (``true``, no id at all), all [guess].
* Delivery receipts: the vendor documents none; the fake has no receipt builder.

``SETTINGS`` uses the fixed token of an "API" user (the natural choice for a server, and what the
shared failure battery expects: no login in front of the send); ``LOGIN_SETTINGS`` / ``build_login``
/ ``login_env`` use e-mail + password and temporary tokens.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import secrets
import time
from typing import Any
from urllib.parse import parse_qsl

import httpx
import msgspec

from providers.conectaline import ConectalineSettings, ConectalineSms

__all__ = (
    "API_TOKEN",
    "CONFIGURATION",
    "EMAIL",
    "LOGIN_SETTINGS",
    "PASSWORD",
    "SETTINGS",
    "FakeConectaline",
    "build",
    "build_login",
    "env",
    "login_env",
)

BASE_URL = "https://conectaline.test"
API_TOKEN = "cl-fixed-token-77e1"
EMAIL = "otp-robot@acme.test"
PASSWORD = "cl-pass-5d0c"
CONFIGURATION = "acme-otp"
SETTINGS = ConectalineSettings(base_url=BASE_URL, api_token=API_TOKEN, configuration_name=CONFIGURATION)
LOGIN_SETTINGS = ConectalineSettings(
    base_url=BASE_URL, email=EMAIL, password=PASSWORD, configuration_name=CONFIGURATION
)

_NUMBER = re.compile(r"[0-9]{8,15}")


def build(client: httpx.AsyncClient) -> ConectalineSms:
    return ConectalineSms(SETTINGS, client)


def build_login(client: httpx.AsyncClient) -> ConectalineSms:
    return ConectalineSms(LOGIN_SETTINGS, client)


def env() -> dict[str, str]:
    return {
        "CONECTALINE_BASE_URL": BASE_URL,
        "CONECTALINE_API_TOKEN": API_TOKEN,
        "CONECTALINE_CONFIGURATION_NAME": CONFIGURATION,
    }


def login_env() -> dict[str, str]:
    return {
        "CONECTALINE_BASE_URL": BASE_URL,
        "CONECTALINE_EMAIL": EMAIL,
        "CONECTALINE_PASSWORD": PASSWORD,
        "CONECTALINE_CONFIGURATION_NAME": CONFIGURATION,
    }


def _json(status: int, body: Any) -> httpx.Response:
    return httpx.Response(status, content=msgspec.json.encode(body), headers={"Content-Type": "application/json"})


def _error(status: int, message: str) -> httpx.Response:
    return _json(status, {"error": {"message": message}})


class FakeConectaline:
    """Switches: ``fail_with_status``, ``next_response`` (one shot), ``raise_exc`` (an httpx exception
    type or instance; only for paths ending in ``raise_exc_on`` when that is set, e.g. ``"/push/simple"``),
    ``expire_tokens()``, ``token_ttl_s``, ``login_error_status`` (401, or 200 as some deployments answer),
    ``auth_error_status`` (status of a push with a bad token), ``business_error_status``, ``login_fields``,
    ``login_top_level``."""

    def __init__(
        self,
        *,
        api_token: str = API_TOKEN,
        email: str = EMAIL,
        password: str = PASSWORD,
        configurations: tuple[str, ...] = (CONFIGURATION,),
    ) -> None:
        self.api_token = api_token
        self.email = email
        self.password = password
        self.configurations = configurations
        self.messages: list[dict[str, Any]] = []  # one per number: id, to, text, configuration_name, auth
        self.requests: list[httpx.Request] = []
        self.logins = 0  # successful logins
        self.fail_with_status: int | None = None
        self.next_response: httpx.Response | None = None
        self.raise_exc: type[httpx.RequestError] | Exception | None = None
        self.raise_exc_on: str | None = None
        self.token_ttl_s = 3600
        self.login_error_status = 401
        self.auth_error_status = 401
        self.business_error_status = 400
        self.login_fields: dict[str, Any] = {}  # overrides of the login reply's expires_in / expires_at
        self.login_top_level = False  # reply {token, ..} without the `data` wrapper (one vendor example reads it so)
        self.string_errors = False  # {"error": "..."} instead of {"error": {"message": "..."}}
        self.push_data = "object"  # what a push's `data` holds: "object", "list" or "opaque" (all [guess])
        self._tokens: dict[str, float] = {}  # temporary token -> unix expiry
        self._ids = itertools.count(1)

    def expire_tokens(self) -> None:
        """Every temporary token issued so far is now expired (the fixed API token never is)."""
        self._tokens = dict.fromkeys(self._tokens, 0.0)

    @property
    def pushes(self) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.path.endswith("/push/simple")]

    # --- HTTP --------------------------------------------------------------------------------------

    async def async_handler(self, request: httpx.Request) -> httpx.Response:
        """:meth:`handler` after yielding to the event loop, so concurrent callers really interleave
        (a plain MockTransport handler never suspends, which would hide a missing login lock)."""
        await asyncio.sleep(0)
        return self.handler(request)

    def handler(self, request: httpx.Request) -> httpx.Response:
        response = self._handle(request)
        if self.string_errors and b'"error"' in response.content:
            body = msgspec.json.decode(response.content)
            if isinstance(body, dict) and isinstance(body.get("error"), dict):
                return _json(response.status_code, {"error": body["error"].get("message", "")})
        return response

    def _handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path.rstrip("/")
        if self.raise_exc is not None and (self.raise_exc_on is None or path.endswith(self.raise_exc_on)):
            if isinstance(self.raise_exc, type):
                raise self.raise_exc("simulated", request=request)  # httpx exceptions take `request`
            raise self.raise_exc
        if self.next_response is not None:
            response, self.next_response = self.next_response, None
            return response
        if self.fail_with_status is not None:
            return _error(self.fail_with_status, "Simulated failure")
        if request.method != "POST":
            return _error(405, "Method not allowed")
        form = dict(parse_qsl(request.content.decode(), keep_blank_values=True))
        if path.endswith("/v1/login"):
            return self._login(form)
        if path.endswith("/v1/push/simple"):
            return self._push(request, form)
        return _error(404, "Not found")

    def _login(self, form: dict[str, str]) -> httpx.Response:
        if form.get("email") != self.email or form.get("password") != self.password:
            return _json(self.login_error_status, {"error": {"message": "Invalid credentials", "code": 401}})
        self.logins += 1
        token = f"tmp-{secrets.token_hex(8)}"
        expires_at = time.time() + self.token_ttl_s
        self._tokens[token] = expires_at
        at = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(expires_at))
        data = {"token": token, "expires_in": self.token_ttl_s, "expires_at": at, **self.login_fields}
        return _json(200, data if self.login_top_level else {"data": data})

    def _caller(self, request: httpx.Request, form: dict[str, str]) -> str | None:
        if form.get("api_token"):
            return "api_token" if secrets.compare_digest(form["api_token"], self.api_token) else None
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and self._tokens.get(token, 0.0) > time.time():
            return "bearer"
        return None

    def _push(self, request: httpx.Request, form: dict[str, str]) -> httpx.Response:
        auth = self._caller(request, form)
        if auth is None:
            return _error(self.auth_error_status, "Unauthenticated: the token is invalid or expired")
        if form.get("configuration_name") not in self.configurations:
            return _error(self.business_error_status, "The selected configuration name is invalid.")
        text = form.get("message", "")
        if not text:
            return _error(self.business_error_status, "The message field is required.")
        numbers = form.get("numbers", "").split(",")
        if not all(_NUMBER.fullmatch(n) for n in numbers):
            return _error(self.business_error_status, "The numbers field must contain valid numbers.")
        push_id = next(self._ids)
        for number in numbers:
            self.messages.append(
                {
                    "id": str(push_id),
                    "to": number,
                    "text": text,
                    "configuration_name": form["configuration_name"],
                    "auth": auth,
                }
            )
        data: Any = {"id": push_id, "total": len(numbers), "status": "queued"}
        if self.push_data == "list":
            data = [{"id": push_id, "number": n} for n in numbers]
        elif self.push_data == "opaque":
            data = True
        return _json(200, {"data": data})
