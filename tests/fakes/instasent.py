"""A fake of Instasent's transactional SMS API (docs: see ``providers/instasent.py``), for MockTransport.

Routes on the path suffix only, so any host and both the transactional (``/transactional/v1/sms``)
and legacy (``/sms``) paths work. Where each shape comes from (https://docs.instasent.com, the
transactional API pages and its OpenAPI, https://docs.instasent.com/openapi/transactional.openapi.yaml):

* ``Authorization: Bearer`` or ``?access_token=`` [doc]; a bad or revoked token -> 401 [doc], with a
  ``{"message": ...}`` body [guess: the 401 body is not shown].
* ``POST /sms`` -> 201 ``{"entity": <ResponseSmsItem>}`` [doc: OpenAPI ``sms-create``; the quickstart
  says "the response contains an id"]. The item's fields beyond ``id`` (``clientId``, ``status``,
  ``from``, ``to``, ``text``) and the initial ``status`` word are a [guess].
* ``POST /sms/bulk`` (a JSON array, at most 100) -> 201 ``{"entities": [...], "errors": [...]}``,
  accepted and rejected items side by side [doc: quickstart, "Sending many messages at once"]; the
  shape of one ``errors`` item is a [guess]. ``bulk_reply`` makes ``POST /sms`` answer in this shape.
* 400 ``{"message": "Problems parsing JSON"}`` / ``{"message": "Body should be a JSON object"}`` [doc];
  per-field errors ``{"message", "errors": {field: [..]}}`` [guess]; 402 without balance [doc];
  429 with an EMPTY body and ``X-RateLimit-*`` headers [doc].
* ``allowUnicode`` is needed for non-GSM text [code: vendor SDK]; ``from`` at most 11 characters
  [code: vendor SDK]; ``clientId`` at most 40 [doc].
* ``GET /sms/{id}`` -> 200 ``{"entity": <ResponseSmsItem>}`` or 404 [doc: the endpoint; the wrapper as
  for ``sms-create``]; ``messages[i]["status"]`` is what it reports (set it to move a message on).
* ``receipt_body()``: the DLR webhook ``{"id", "clientId", "status", "code", "eventAt"}`` [doc].
"""

from __future__ import annotations

import itertools
import time
from typing import Any

import httpx
import msgspec

from providers.instasent import InstasentSettings, InstasentSms
from providers.text import Encoding, encoding_of

__all__ = ("SENDER", "SETTINGS", "TOKEN", "FakeInstasent", "build", "env")

BASE_URL = "https://instasent.test"
TOKEN = "inst-test-token-3f9a"
SENDER = "Acme"
SETTINGS = InstasentSettings(base_url=BASE_URL, token=TOKEN, sender=SENDER)


def build(client: httpx.AsyncClient) -> InstasentSms:
    return InstasentSms(SETTINGS, client)


def env() -> dict[str, str]:
    return {"INSTASENT_BASE_URL": BASE_URL, "INSTASENT_TOKEN": TOKEN, "INSTASENT_SENDER": SENDER}


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(
        status, content=msgspec.json.encode(body), headers={"Content-Type": "application/json", **(headers or {})}
    )


class FakeInstasent:
    """Switches: ``fail_with_status``, ``next_response`` (one shot), ``raise_exc`` (an httpx exception
    type or instance, raised for every request while set), ``no_balance`` (402), ``rate_limited``
    (429), ``bulk_reply`` (``POST /sms`` answers in the bulk 201 shape), ``revoke_token()``."""

    def __init__(self, *, token: str = TOKEN) -> None:
        self.token = token
        self.messages: list[dict[str, Any]] = []  # accepted SMS: id, to, text, from, clientId, allowUnicode
        self.requests: list[httpx.Request] = []
        self.fail_with_status: int | None = None
        self.next_response: httpx.Response | None = None
        self.raise_exc: type[httpx.RequestError] | Exception | None = None
        self.no_balance = False
        self.rate_limited = False
        self.bulk_reply = False
        self._revoked = False
        self._ids = itertools.count(1)

    def expire_tokens(self) -> None:
        """Instasent tokens never expire [doc]: nothing changes (see :meth:`revoke_token`)."""

    def revoke_token(self) -> None:
        """Revoke the token in the dashboard: every request then gets 401."""
        self._revoked = True

    # --- HTTP --------------------------------------------------------------------------------------

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.raise_exc is not None:
            if isinstance(self.raise_exc, type):
                raise self.raise_exc("simulated", request=request)  # httpx exceptions take `request`
            raise self.raise_exc
        if self.next_response is not None:
            response, self.next_response = self.next_response, None
            return response
        if self.fail_with_status is not None:
            return _json(self.fail_with_status, {"message": "Simulated failure"})
        if not self._authorized(request):
            return _json(401, {"message": "Invalid or revoked token"})
        if self.rate_limited:
            reset = str(int(time.time()) + 60)
            return httpx.Response(
                429, headers={"X-RateLimit-Limit": "1200", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset}
            )
        head, _, tail = request.url.path.rstrip("/").rpartition("/")
        if request.method == "GET" and head.endswith("/sms"):  # GET /sms/{id} [doc]
            found = next((m for m in self.messages if m["id"] == tail), None)
            return _json(200, {"entity": found}) if found else _json(404, {"message": "Not Found"})
        if request.method == "POST" and request.url.path.rstrip("/").endswith("/sms/bulk"):
            return self._bulk(request)
        if request.method == "POST" and request.url.path.rstrip("/").endswith("/sms"):
            return self._send(request)
        return _json(404, {"message": "Not Found"})

    def _authorized(self, request: httpx.Request) -> bool:
        presented = request.headers.get("Authorization", "")
        query_token = request.url.params.get("access_token")
        return not self._revoked and (presented == f"Bearer {self.token}" or query_token == self.token)

    def _send(self, request: httpx.Request) -> httpx.Response:
        try:
            body = msgspec.json.decode(request.content)
        except msgspec.DecodeError:
            return _json(400, {"message": "Problems parsing JSON"})
        if not isinstance(body, dict):
            return _json(400, {"message": "Body should be a JSON object"})
        if self.bulk_reply:
            return self._bulk_answer([body])
        errors = self._validate(body)
        if errors:
            return _json(400, {"message": "Validation failed", "errors": errors})
        if self.no_balance:
            return _json(402, {"message": "Not enough balance"})
        return _json(201, {"entity": self._accept(body)})

    def _bulk(self, request: httpx.Request) -> httpx.Response:
        try:
            items = msgspec.json.decode(request.content)
        except msgspec.DecodeError:
            return _json(400, {"message": "Problems parsing JSON"})
        if not isinstance(items, list) or not 1 <= len(items) <= 100:
            return _json(400, {"message": "Body should be a JSON array of 1 to 100 items"})
        return self._bulk_answer(items)

    def _bulk_answer(self, items: list[Any]) -> httpx.Response:
        if self.no_balance:
            return _json(402, {"message": "Not enough balance"})
        entities, errors = [], []
        for index, item in enumerate(items):
            problems = self._validate(item) if isinstance(item, dict) else {"body": ["Not an object"]}
            if problems:
                errors.append({"index": index, "fields": problems})  # [guess] shape of one rejected item
            else:
                entities.append(self._accept(item))
        return _json(201, {"entities": entities, "errors": errors})

    def _accept(self, body: dict[str, Any]) -> dict[str, Any]:
        entity = {
            "id": f"sms-{next(self._ids):06d}",
            "clientId": body.get("clientId"),
            "status": "enqueued",
            "from": body["from"],
            "to": body["to"],
            "text": body["text"],
            "allowUnicode": bool(body.get("allowUnicode", False)),
        }
        self.messages.append(entity)
        return entity

    @staticmethod
    def _validate(body: dict[str, Any]) -> dict[str, list[str]]:
        errors: dict[str, list[str]] = {}
        sender, to, text, client_id = body.get("from"), body.get("to"), body.get("text"), body.get("clientId")
        if not isinstance(sender, str) or not 1 <= len(sender) <= 11:
            errors["from"] = ["This value should have 11 characters or less."]
        if not isinstance(to, str) or not to.startswith("+") or not to[1:].isdigit() or not 8 <= len(to) <= 16:
            errors["to"] = ["This value is not a valid phone number."]
        if not isinstance(text, str) or not text:
            errors["text"] = ["This value should not be blank."]
        elif encoding_of(text) is Encoding.UCS2 and body.get("allowUnicode") is not True:
            errors["text"] = ["Text contains non-GSM characters; set allowUnicode."]
        if client_id is not None and (not isinstance(client_id, str) or len(client_id) > 40):
            errors["clientId"] = ["This value should have 40 characters or less."]
        return errors

    # --- delivery receipts -------------------------------------------------------------------------

    def receipt_body(self, message_id: str, status: str, *, code: int = 0) -> bytes:
        """The webhook body Instasent POSTs for one transition of an SMS this fake accepted."""
        message = next(m for m in self.messages if m["id"] == message_id)
        event = {
            "id": message_id,
            "clientId": message["clientId"],
            "status": status,
            "code": code,
            "eventAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        return msgspec.json.encode(event)

    async def push_receipt(
        self, client: httpx.AsyncClient, url: str, message_id: str, status: str, *, code: int = 0, attempts: int = 3
    ) -> httpx.Response:
        """POST a receipt like Instasent does, retrying (without the real backoff) while not 2xx."""
        body = self.receipt_body(message_id, status, code=code)
        response: httpx.Response | None = None
        for _ in range(attempts):
            response = await client.post(url, content=body, headers={"Content-Type": "application/json"})
            if response.is_success:
                break
        assert response is not None
        return response
