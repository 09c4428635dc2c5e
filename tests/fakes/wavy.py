"""A fake of Wavy's messaging API (docs: see ``providers/wavy.py``), for ``httpx.MockTransport(FakeWavy().handler)``.

It routes on the path only, so any host works. Where each shape comes from (Sinch's pages for Wavy,
https://docs.sinch.com/technical-documentation/api-and-integrations/sms-api, and
https://docs-latam.wavy.global):

* ``UserName`` + ``AuthenticationToken`` headers [doc]; a mismatch -> 401 [doc: 401 is a listed
  status] with an ``{"errorCode", "errorMessage"}`` body [guess: error bodies are not documented].
* ``POST /v1/send-sms``: ``destination`` digits with country code, ``messageText`` at most 1280,
  ``correlationId`` at most 64, one of ``expiresAt`` / ``expiresInMinutes`` / ``expiresDate`` [doc];
  a violation -> 400 [doc: a listed status] with the [guess] error body.
* Success -> 200 ``{"id": "<uuid>", "correlationId": "..."}`` [doc]; the doc renders it inside
  ``[...]`` (``list_response``) [doc] while client code reads an object [code].
* ``callback_body()`` (sent status) and ``dlr_body()`` (delivered status) [doc: the two webhook
  examples, including their two spellings ``sentAt`` / ``sentStatusAt``].
* ``POST /v1/sms/status/search`` ``{"ids": [...]}`` -> the statuses of those messages, each shaped like
  a DLR [doc: status query API, at most 1 request/s, statuses kept 3 days]; the wrapper of the list
  (``{"smsStatuses": [...]}``) is a [guess].

Switches: ``rate_limited`` (429), ``fail_with_status`` (every send answers that status),
``next_response`` (returned once), ``raise_exc`` (an exception instance or class raised while set).
"""

from __future__ import annotations

import json
import re
import time
import uuid
from typing import Any

import httpx

from providers.wavy import WavySender, WavySettings

__all__ = ("ENV", "SETTINGS", "FakeWavy", "build", "env")

BASE_URL = "https://wavy.test"
USERNAME = "otp-test@example.com"
TOKEN = "wavy-test-token"

SETTINGS = WavySettings(base_url=BASE_URL, username=USERNAME, token=TOKEN)
ENV = {"WAVY_BASE_URL": BASE_URL, "WAVY_USERNAME": USERNAME, "WAVY_TOKEN": TOKEN}

_DESTINATION = re.compile(r"\d{10,15}")
_SENT_STATUS = {
    2: "SENT_SUCCESS",
    101: "EXPIRED",
    102: "CARRIER_COMMUNICATION_ERROR",
    103: "REJECTED_BY_CARRIER",
    201: "NO_CREDIT",
    202: "INVALID_DESTINATION_NUMBER",
    203: "BLACKLISTED",
    204: "DESTINATION_BLOCKED_BY_OPTOUT",
    205: "DESTINATION_MESSAGE_LIMIT_REACHED",
    207: "INVALID_MESSAGE_TEXT",
    301: "INTERNAL_ERROR",
}
_DELIVERED_STATUS = {4: "DELIVERED_SUCCESS", 104: "NOT_DELIVERED"}


def build(client: httpx.AsyncClient) -> WavySender:
    return WavySender(SETTINGS, client)


def env() -> dict[str, str]:
    return dict(ENV)


def _error(status: int, message: str) -> httpx.Response:
    return httpx.Response(status, json={"errorCode": status, "errorMessage": message})


class FakeWavy:
    def __init__(self, *, username: str = USERNAME, token: str = TOKEN) -> None:
        self.username = username
        self.token = token
        # switches
        self.rate_limited = False
        self.list_response = False
        self.raise_exc: BaseException | type[BaseException] | None = None
        self.fail_with_status: int | None = None
        self.next_response: httpx.Response | None = None
        # records
        self.messages: list[dict[str, Any]] = []
        self.requests: list[httpx.Request] = []
        self.statuses: dict[str, tuple[int, int | None]] = {}  # message id -> (sent, delivered) codes

    def set_status(self, message_id: str, sent_status_code: int = 2, delivered_status_code: int | None = None) -> None:
        """What the status query API answers for ``message_id`` (by default: no status yet)."""
        self.statuses[message_id] = (sent_status_code, delivered_status_code)

    def _status_search(self, request: httpx.Request) -> httpx.Response:
        if request.headers.get("UserName") != self.username or request.headers.get("AuthenticationToken") != self.token:
            return _error(401, "Unauthorized")
        ids = (json.loads(request.content or b"{}") or {}).get("ids", [])
        items = []
        for message_id in ids:
            if message_id in self.statuses:
                sent, delivered = self.statuses[message_id]
                item = self._status(message_id, sent)
                if delivered is not None:
                    item |= {"deliveredStatusCode": delivered, "deliveredStatus": _DELIVERED_STATUS[delivered]}
                items.append(item)
        return httpx.Response(200, json={"total": len(items), "smsStatuses": items})  # wrapper: [guess]

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.path.rstrip("/") == "/v1/sms/status/search" and request.method == "POST":
            if self.raise_exc is not None or self.fail_with_status is not None:
                return _error(self.fail_with_status or 503, "failure (fake switch)")
            return self._status_search(request)
        if request.url.path.rstrip("/") != "/v1/send-sms":
            return _error(404, "Not Found")
        if request.method != "POST":
            return _error(405, "Method Not Allowed")
        if self.raise_exc is not None:
            exc = self.raise_exc
            if isinstance(exc, type) and issubclass(exc, httpx.RequestError):
                raise exc("fake failure", request=request)
            raise exc
        if self.next_response is not None:
            response, self.next_response = self.next_response, None
            return response
        if self.fail_with_status is not None:
            return _error(self.fail_with_status, "failure (fake switch)")
        if self.rate_limited:
            return _error(429, "Too Many Requests")
        if request.headers.get("UserName") != self.username or request.headers.get("AuthenticationToken") != self.token:
            return _error(401, "Unauthorized")
        try:
            body = json.loads(request.content or b"null")
        except ValueError:
            return _error(400, "Malformed JSON")
        problem = _check(body)
        if problem is not None:
            return _error(400, problem)
        message_id = str(uuid.uuid4())
        self.messages.append(
            {
                "id": message_id,
                "to": body["destination"],
                "text": body["messageText"],
                "correlation_id": body.get("correlationId"),
                "raw": body,
            }
        )
        reply: dict[str, Any] = {"id": message_id}
        if body.get("correlationId") is not None:
            reply["correlationId"] = body["correlationId"]
        return httpx.Response(200, json=[reply] if self.list_response else reply)

    # --- webhook payloads ---------------------------------------------------------------------------

    def callback_body(self, message_id: str, sent_status_code: int = 2) -> bytes:
        """The "callback" (sent status) Wavy POSTs once the carrier took (or refused) the message."""
        return json.dumps(self._status(message_id, sent_status_code)).encode()

    def dlr_body(self, message_id: str, delivered_status_code: int = 4) -> bytes:
        """The DLR (handset delivery), with the ``sentStatusAt`` spelling of the doc's example."""
        now_ms = int(time.time() * 1000)
        item = self._status(message_id, 2)
        item["sentStatusAt"] = item.pop("sentAt")
        item["sentStatusDate"] = item.pop("sentDate")
        item |= {
            "deliveredStatusCode": delivered_status_code,
            "deliveredStatus": _DELIVERED_STATUS.get(delivered_status_code, "UNKNOWN"),
            "deliveredAt": now_ms,
            "deliveredDate": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        return json.dumps(item).encode()

    def _status(self, message_id: str, sent_status_code: int) -> dict[str, Any]:
        message = next((m for m in self.messages if m["id"] == message_id), None)
        return {
            "id": message_id,
            "correlationId": (message or {}).get("correlation_id") or "",
            "carrierId": 1,
            "carrierName": "VIVO",
            "destination": message["to"] if message else "5511900009999",
            "sentStatusCode": sent_status_code,
            "sentStatus": _SENT_STATUS.get(sent_status_code, "UNKNOWN"),
            "sentAt": int(time.time() * 1000),
            "sentDate": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "campaignId": "64",
            "extraInfo": "",
        }


def _check(body: Any) -> str | None:
    if not isinstance(body, dict):
        return "Body must be a JSON object"
    destination = body.get("destination")
    if not isinstance(destination, str) or not _DESTINATION.fullmatch(destination):
        return "Invalid destination"
    text = body.get("messageText")
    if not isinstance(text, str) or not text:
        return "messageText is required"
    if len(text) > 1280:
        return "messageText exceeds 1280 characters"
    correlation_id = body.get("correlationId")
    if correlation_id is not None and (not isinstance(correlation_id, str) or len(correlation_id) > 64):
        return "correlationId must be a string of at most 64 characters"
    # expiresAt / expiresInMinutes / expiresDate are mutually exclusive [doc: docs.sinch.com ... sms-api,
    # "Single send" field table]; their range is not documented, so only the type is checked here.
    expiry = [k for k in ("expiresAt", "expiresInMinutes", "expiresDate") if k in body]
    if len(expiry) > 1:
        return "expiresAt, expiresInMinutes and expiresDate are mutually exclusive"
    if "expiresInMinutes" in body and not (isinstance(body["expiresInMinutes"], int) and body["expiresInMinutes"] > 0):
        return "expiresInMinutes must be a positive integer"
    return None
