"""The operator's endpoint for the ``webhook`` provider (contract: ``providers/webhook.py``), for MockTransport.

Unlike the vendor fakes, every shape here is ours: the request and its signature are defined by the
adapter's docstring and docs/providers.md, and checked the way a receiver would, with the
``standardwebhooks`` library's ``Webhook.verify`` (a bad or missing signature answers 401). A good
request answers 200 ``{"message_id": "wh-<n>"}``; ``reply`` replaces that body (e.g. ``b""``: a 2xx
without an id). ``receipt_body()`` builds the receipt the operator POSTs back.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

import httpx
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from providers.webhook import WebhookSender, WebhookSettings

__all__ = ("ENV", "SECRET", "SETTINGS", "URL", "FakeOperator", "build", "env")

BASE_URL = "https://operator.test"
URL = f"{BASE_URL}/otp/deliver"
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SETTINGS = WebhookSettings(url=URL, secret=SECRET)
ENV = {"WEBHOOK_PROVIDER_URL": URL, "WEBHOOK_PROVIDER_SECRET": SECRET}


def build(client: httpx.AsyncClient) -> WebhookSender:
    return WebhookSender(SETTINGS, client)


def env() -> dict[str, str]:
    return dict(ENV)


class FakeOperator:
    def __init__(self, secret: str = SECRET) -> None:
        self.verifier = Webhook(secret)
        self.messages: list[dict[str, Any]] = []
        self.requests: list[httpx.Request] = []
        self.reply: bytes | None = None
        self._ids = itertools.count(1)

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.method != "POST" or request.url.path != httpx.URL(URL).path:
            return httpx.Response(404, json={"error": "not found"})
        try:
            payload = self.verifier.verify(request.content, dict(request.headers))
        except WebhookVerificationError as exc:
            return httpx.Response(401, json={"error": str(exc)})
        message_id = f"wh-{next(self._ids)}"
        self.messages.append({**payload, "message_id": message_id, "headers": dict(request.headers)})
        if self.reply is not None:
            return httpx.Response(200, content=self.reply)
        return httpx.Response(200, json={"message_id": message_id})

    @staticmethod
    def receipt_body(message_id: str | None, status: str, reference: str | None = None) -> bytes:
        item = {k: v for k, v in {"message_id": message_id, "reference": reference}.items() if v is not None}
        return json.dumps({**item, "status": status}).encode()
