"""A fake of Gatum's REST API (docs: see ``providers/gatum.py``), for ``httpx.MockTransport(FakeGatum().handler)``.

It routes on the path only, so any host works. Where each shape comes from (Gatum's own pages
https://restapi.gatum.io/desc/ and the Postman collection could not be read; the evidence is the
vendor's SDKs, github.com/Sempico/gatum-rest-py, gatum-api-py, restapi-sms(-php), and one third-party
wrapper):

* ``POST /v1/authorize`` -> ``{"status": true, "data": {"authorization_code"}}`` [code: gatum-rest-py
  reads ``data.authorization_code``]; wrong credentials -> HTTP 400 ``{"status": false, "error_code":
  400, "errors": {"password": ["Incorrect username or password."]}}`` [code: SDK README example].
* ``POST /v1/accesstoken`` -> ``{"status": true, "data": {"access_token", "expires_at"}}`` (Unix time,
  years ahead) [code: SDK README example].
* ``POST /v1/send`` (a JSON array of ``{number: [..], senderID, text, type, lifetime, delivery}``
  [code: gatum-rest-py ``send_sms``]) -> ``{"status": true, "data": [{"sending": {"details":
  {"number", "senderID", "sentID"}}}]}``: NOT documented by Gatum; the shape a third-party wrapper
  (MindCloud) documents [code, third-party]. ``success_shape = "no_sent_id"`` answers the envelope
  without any ``sentID`` (docs silent on whether it is always there). An unregistered sender ->
  ``not_registr_originator`` [code: wrapper doc]; per-field errors use the ``errors`` envelope above
  and the PHP SDK also reads an ``error`` string [code: restapi-sms ApiClient.php ``handleError``].
* A missing or dead ``X-Access-Token`` -> HTTP 401 ``{"status": false, "error_code": 401, "error":
  "Unauthorized"}``: the status and body are a [guess] (not documented anywhere seen).
* ``POST /v1/sms-full-data`` (``phone``, ``time_period``, ``type_sms``, ``limit`` [code: SDKs]) -> the
  states set in ``states``; the reply shape is a [guess] (see ``_full_data``).
* ``dlr_body()``: the REST DLR push, a JSON array ``[{"id_state", "originator", "phone", "type_sms",
  "text_sms", "num_parts", "part_no", "state", "time"}]``, acknowledged by echoing the ``id_state``
  values [code: vendor SDK README, see providers/gatum.py]. That ``id_state`` is the ``sentID`` is
  inferred (the GET-API SDK prints it as the "SMS ID"); the fake makes them equal.

Failure switches act on ``/v1/send`` only (so logins keep working and a read timeout is one on a
send): ``raise_exc`` (an exception instance or class, raised once per request while set),
``fail_with_status`` (every send answers that status with an error envelope), ``next_response``
(returned once, for the next send). ``login_fail_with_status`` does the same for the two login steps.
``garbled_reply`` (a function making a body) accepts each send as usual, then answers that body in place
of its reply: the vendor acted, and what came back cannot be read.
``expire_tokens()`` makes every issued token invalid (sends get 401 until the adapter logs in again).
"""

from __future__ import annotations

import itertools
import json
import re
import secrets
import time
from collections.abc import AsyncIterable, Callable
from typing import Any

import httpx

from providers.gatum import GatumSender, GatumSettings

__all__ = ("ENV", "SETTINGS", "FakeGatum", "build", "env")

BASE_URL = "https://gatum.test"
USERNAME = "otp-test"
PASSWORD = "gatum-test-password"
SENDER = "Verify"

SETTINGS = GatumSettings(base_url=BASE_URL, username=USERNAME, password=PASSWORD, sender=SENDER)
ENV = {
    "GATUM_BASE_URL": BASE_URL,
    "GATUM_USERNAME": USERNAME,
    "GATUM_PASSWORD": PASSWORD,
    "GATUM_SENDER": SENDER,
}

_NUMBER = re.compile(r"\d{8,15}")
_TEN_YEARS_S = 10 * 365 * 24 * 3600


def build(client: httpx.AsyncClient) -> GatumSender:
    return GatumSender(SETTINGS, client)


def env() -> dict[str, str]:
    return dict(ENV)


def _json(status: int, body: Any) -> httpx.Response:
    return httpx.Response(status, json=body)


def _error(status: int, *, errors: dict[str, list[str]] | None = None, error: str | None = None) -> httpx.Response:
    body: dict[str, Any] = {"status": False, "error_code": status}
    if errors is not None:
        body["errors"] = errors
    if error is not None:
        body["error"] = error
    return _json(status, body)


class FakeGatum:
    def __init__(
        self,
        *,
        username: str = USERNAME,
        password: str = PASSWORD,
        senders: tuple[str, ...] = (SENDER,),
        token_ttl_s: float = _TEN_YEARS_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.username = username
        self.password = password
        self.senders = set(senders)
        self.token_ttl_s = token_ttl_s
        self.clock = clock
        # switches
        self.raise_exc: BaseException | type[BaseException] | None = None
        self.fail_with_status: int | None = None
        self.next_response: httpx.Response | None = None
        self.login_fail_with_status: int | None = None
        self.garbled_reply: Callable[[], bytes | AsyncIterable[bytes]] | None = None
        self.success_shape = "wrapper"  # or "no_sent_id": the envelope without any sentID (docs silent)
        # state and records
        self.authorization_codes: set[str] = set()
        self.tokens: dict[str, float] = {}  # access_token -> expires_at
        self.messages: list[dict[str, Any]] = []
        self.states: dict[int, str] = {}  # sentID -> state reported by /v1/sms-full-data (none: not listed)
        self.requests: list[httpx.Request] = []
        self.authorize_calls = 0
        self.token_calls = 0
        self._sent_ids = itertools.count(598933232)

    # --- helpers for tests ------------------------------------------------------------------------

    @property
    def logins(self) -> int:
        """Completed two-step logins (tokens issued)."""
        return self.token_calls

    def issue_token(self, ttl_s: float | None = None) -> str:
        """A token as made in the web cabinet (for ``GATUM_ACCESS_TOKEN``)."""
        token = secrets.token_urlsafe(24)
        self.tokens[token] = self.clock() + (self.token_ttl_s if ttl_s is None else ttl_s)
        return token

    def expire_tokens(self) -> None:
        self.tokens.clear()

    def send_requests(self) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.path == "/v1/send"]

    def dlr_body(self, sent_id: int | str, state: str = "DELIVRD", *, part: tuple[int, int] = (1, 1)) -> bytes:
        """The body Gatum POSTs to the DLR webhook for a message we recorded (text included, as Gatum does);
        ``part`` is ``(part_no, num_parts)``: Gatum reports each part of a long message on its own."""
        message = next((m for m in self.messages if str(m["sent_id"]) == str(sent_id)), None)
        item = {
            "id_state": int(sent_id),
            "originator": message["sender"] if message else SENDER,
            "phone": message["to"] if message else "380957225759",
            "type_sms": "sms",
            "text_sms": message["text"] if message else "",
            "num_parts": part[1],
            "part_no": part[0],
            "state": state,
            "time": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(self.clock())),
        }
        return json.dumps([item]).encode()

    # --- the API ----------------------------------------------------------------------------------

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path.rstrip("/")
        routes = {
            "/v1/authorize": self._authorize,
            "/v1/accesstoken": self._accesstoken,
            "/v1/send": self._send,
            "/v1/sms-full-data": self._full_data,
        }
        route = routes.get(path)
        if route is None:
            return _error(404, error="not found")
        if request.method != "POST":
            return _error(405, error="method not allowed")
        return route(request)

    def _login_switch(self) -> httpx.Response | None:
        if self.login_fail_with_status is not None:
            return _error(self.login_fail_with_status, error="login failure (fake switch)")
        return None

    def _authorize(self, request: httpx.Request) -> httpx.Response:
        self.authorize_calls += 1
        if (switched := self._login_switch()) is not None:
            return switched
        body = _load(request)
        if not isinstance(body, dict):
            return _error(400, errors={"username": ["Username cannot be blank."]})
        if body.get("username") != self.username or body.get("password") != self.password:
            return _error(400, errors={"password": ["Incorrect username or password."]})
        code = secrets.token_urlsafe(16)
        self.authorization_codes.add(code)
        return _json(200, {"status": True, "data": {"authorization_code": code}})

    def _accesstoken(self, request: httpx.Request) -> httpx.Response:
        if (switched := self._login_switch()) is not None:
            return switched
        body = _load(request)
        code = body.get("authorization_code") if isinstance(body, dict) else None
        if not isinstance(code, str) or code not in self.authorization_codes:
            return _error(400, errors={"authorization_code": ["Authorization code is invalid."]})
        self.authorization_codes.discard(code)
        self.token_calls += 1
        token = self.issue_token()
        return _json(200, {"status": True, "data": {"access_token": token, "expires_at": int(self.tokens[token])}})

    def _full_data(self, request: httpx.Request) -> httpx.Response:
        """``/v1/sms-full-data``: the request fields are the SDKs' [code]; the reply shape is a [guess]
        (not documented): ``{"status": true, "data": [{"id_state", "phone", "state", "time"}]}``."""
        token = request.headers.get("X-Access-Token")
        if token is None or token not in self.tokens or self.tokens[token] <= self.clock():
            return _error(401, error="Unauthorized")
        body = _load(request)
        phones = body.get("phone", []) if isinstance(body, dict) else []
        period = body.get("time_period", "") if isinstance(body, dict) else ""
        if not isinstance(period, str) or " - " not in period:
            return _error(400, errors={"time_period": ["Time period is invalid."]})
        rows = [
            {"id_state": m["sent_id"], "phone": m["to"], "state": self.states[m["sent_id"]], "time": period[:19]}
            for m in self.messages
            if m["to"] in phones and m["sent_id"] in self.states
        ]
        return _json(200, {"status": True, "data": rows})

    def _send(self, request: httpx.Request) -> httpx.Response:
        if self.raise_exc is not None:
            exc = self.raise_exc
            if isinstance(exc, type) and issubclass(exc, httpx.RequestError):
                raise exc("fake failure", request=request)
            raise exc
        if self.next_response is not None:
            response, self.next_response = self.next_response, None
            return response
        if self.fail_with_status is not None:
            return _error(self.fail_with_status, error="failure (fake switch)")
        token = request.headers.get("X-Access-Token")
        if token is None or token not in self.tokens or self.tokens[token] <= self.clock():
            return _error(401, error="Unauthorized")
        body = _load(request)
        if not isinstance(body, list) or not body:
            return _error(400, errors={"body": ["The request body must be a non-empty array of messages."]})
        data: list[dict[str, Any]] = []
        accepted: list[dict[str, Any]] = []
        for item in body:
            problem = _check_message(item)
            if problem is not None:
                return _error(400, errors=problem)
            if item["senderID"] not in self.senders:
                return _error(400, error="not_registr_originator")
            sent_id = next(self._sent_ids)
            for number in item["number"]:
                accepted.append(
                    {"to": number, "text": item["text"], "sender": item["senderID"], "sent_id": sent_id, "raw": item}
                )
            details = {"number": item["number"], "senderID": item["senderID"], "sentID": sent_id}
            data.append({"sending": {"details": details}})
        self.messages.extend(accepted)
        if self.garbled_reply is not None:
            return httpx.Response(200, content=self.garbled_reply(), headers={"Content-Type": "application/json"})
        if self.success_shape == "no_sent_id":
            return _json(200, {"status": True, "data": [{"sending": {"details": {"number": [], "senderID": ""}}}]})
        return _json(200, {"status": True, "data": data})


def _load(request: httpx.Request) -> Any:
    try:
        return json.loads(request.content or b"null")
    except ValueError:
        return None


def _check_message(item: Any) -> dict[str, list[str]] | None:
    if not isinstance(item, dict):
        return {"body": ["Each message must be an object."]}
    numbers = item.get("number")
    if not isinstance(numbers, list) or not numbers:
        return {"number": ["Number cannot be blank."]}
    if not all(isinstance(n, str) and _NUMBER.fullmatch(n) for n in numbers):
        return {"number": ["Number must be international digits without +."]}
    sender = item.get("senderID")
    if not isinstance(sender, str) or not sender:
        return {"senderID": ["SenderID cannot be blank."]}
    text = item.get("text")
    if not isinstance(text, str) or not text:
        return {"text": ["Text cannot be blank."]}
    if item.get("type", "sms") not in ("sms", "hlr", "mnp"):
        return {"type": ["Type is invalid."]}
    if "delivery" in item and not isinstance(item["delivery"], bool):
        return {"delivery": ["Delivery must be a boolean."]}
    # lifetime: seconds, default 86400 (Sempico/gatum-api-py README, Sempico/restapi-sms-php README);
    # its range is not documented, so only the type is checked.
    if "lifetime" in item and not (isinstance(item["lifetime"], int) and item["lifetime"] > 0):
        return {"lifetime": ["Lifetime must be a positive integer."]}
    return None
