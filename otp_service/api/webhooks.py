"""Delivery receipts: ``POST /v1/webhooks/{provider}/{secret}``.

Vendors cannot send our bearer tokens, so the shared secret sits in the path (the contract's
choice). A wrong secret and an unknown provider both answer 404, so the endpoint does not confirm
which part was wrong. The path is never logged raw: the request log writes the route template, where
the secret is the placeholder ``{secret}`` (or ``/v1/webhooks/…`` without one), and uvicorn's own
access log, which would print it, is switched off.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, post
from litestar.di import NamedDependency
from litestar.params import FromPath

from providers import MAX_VENDOR_BODY_BYTES, ReceiptError

from ..domain.errors import NotFound, ValidationFailed
from ..domain.service import OtpService
from .auth import Authenticator
from .deps import ReceiptParsers
from .openapi import ApiOperation
from .problems import ProblemCode as P
from .problems import problem_responses

__all__ = ("WebhookController",)


class WebhookController(Controller):
    path = "/v1/webhooks"
    tags = ["webhooks"]

    @post(
        "/{provider:str}/{secret:str}",
        status_code=200,
        operation_id="receiveDeliveryReceipt",
        operation_class=ApiOperation,
        summary="Delivery receipt callback from a provider",
        description="Called by SMS vendors, not by clients: the secret in the path stands for a bearer token.",
        request_max_body_size=MAX_VENDOR_BODY_BYTES,  # as vendor replies: longer is no receipt
        responses=problem_responses(P.VALIDATION_ERROR, P.NOT_FOUND, P.STORE_UNAVAILABLE, body=True),
    )
    async def receipt(
        self,
        request: Request[Any, Any, Any],
        provider: FromPath[str],
        secret: FromPath[str],
        otp_service: NamedDependency[OtpService],
        auth: NamedDependency[Authenticator],
        receipt_parsers: NamedDependency[ReceiptParsers],
    ) -> Any:
        parser = receipt_parsers.get(provider)
        if not auth.webhook_secret_ok(secret) or parser is None:
            raise NotFound("No such resource.")
        body = await request.body()
        try:
            batch = parser(body, dict(request.headers))
        except ReceiptError as exc:
            raise ValidationFailed(f"The body is not a {provider} delivery receipt: {exc}") from exc
        applied = await otp_service.apply_receipts(provider, batch.updates)
        if batch.response is not None:
            return batch.response
        return {"received": len(batch.updates), "applied": applied}
