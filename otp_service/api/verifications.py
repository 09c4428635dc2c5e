"""The client routes of the contract: send, check, status, cancel."""

from __future__ import annotations

import time
from typing import Annotated

import msgspec
import structlog
from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, HeaderParameter, JSONBody

from providers import Channel

from ..domain.end_user import check_source, limited_ip, parse_end_user_ip
from ..domain.errors import NotFound, ValidationFailed
from .auth import Access
from .deps import Caller
from .openapi import ApiOperation
from .problems import ProblemCode as P
from .problems import problem_responses
from .schemas import CheckIn, CheckOut, StartIn, VerificationOut, check_out, verification_out

__all__ = ("VerificationController",)

_ID_CHARS = frozenset("0123456789abcdef")


def _known_id(verification_id: str) -> str:
    """Ids we never issued are simply not found (no hint about the format)."""
    if not (verification_id.startswith("vf_") and len(verification_id) == 35 and set(verification_id[3:]) <= _ID_CHARS):
        raise NotFound("No verification with this id.")
    return verification_id


def _end_user(end_user_ip: str | None, end_user_id: str | None) -> str | None:
    """The end user's address, checked; both land in the log context (never the phone number)."""
    checked = parse_end_user_ip(end_user_ip)
    if checked is not None or end_user_id is not None:
        structlog.contextvars.bind_contextvars(end_user_ip=checked, end_user_id=end_user_id)
    return checked


def _now_ms() -> int:
    return int(time.time() * 1000)


class VerificationController(Controller):
    path = "/v1/verifications"
    tags = ["verifications"]
    opt = {"access": Access.CLIENT}
    security = [{"bearer": []}]

    @post(
        "/",
        status_code=201,
        operation_id="sendVerification",
        operation_class=ApiOperation,
        summary="Start (or restart) a verification and send the code",
        responses=problem_responses(
            P.VALIDATION_ERROR,
            P.INVALID_PHONE,
            P.UNAUTHORIZED,
            P.COUNTRY_NOT_ALLOWED,
            P.NUMBER_NOT_ALLOWED,
            P.CONFLICT,
            P.RATE_LIMITED,
            P.PROVIDER_UNAVAILABLE,
            P.STORE_UNAVAILABLE,
            body=True,
        ),
    )
    async def start(
        self,
        data: JSONBody[StartIn],
        caller: NamedDependency[Caller],
        idempotency_key: Annotated[
            str | None,
            HeaderParameter(
                name="Idempotency-Key",
                required=False,
                max_length=255,
                description="Same key and body within the TTL: the first response again, nothing sent.",
            ),
        ] = None,
    ) -> VerificationOut:
        if data.app_hash is not None and not data.app_hash.isascii():
            raise ValidationFailed("app_hash: must be 11 characters", [{"field": "app_hash", "message": "invalid"}])
        end_user_ip = _end_user(data.end_user_ip, data.end_user_id)
        fingerprint = msgspec.json.encode(data).hex() if idempotency_key else ""
        verification, _replayed = await caller.service.start(
            data.to,
            client=caller.client,
            ip=limited_ip(end_user_ip, caller.ip, public_key=caller.key_public),
            locale=data.locale,
            app_hash=data.app_hash.strip() if data.app_hash else None,
            idempotency_key=idempotency_key,
            fingerprint=fingerprint,
            channel=Channel(data.channel),
        )
        return verification_out(verification, _now_ms())

    @post(
        "/check",
        status_code=200,
        operation_id="checkVerification",
        operation_class=ApiOperation,
        summary="Check a code",
        responses=problem_responses(
            P.VALIDATION_ERROR,
            P.INVALID_PHONE,
            P.UNAUTHORIZED,
            P.NOT_FOUND,
            P.RATE_LIMITED,
            P.PROVIDER_UNAVAILABLE,
            P.STORE_UNAVAILABLE,
            body=True,
        ),
    )
    async def check(
        self,
        data: JSONBody[CheckIn],
        caller: NamedDependency[Caller],
    ) -> CheckOut:
        if (data.to is None) == (data.id is None):
            message = "Give exactly one of 'to' or 'id'."
            raise ValidationFailed(message, [{"field": "to", "message": message}])
        client = caller.client
        source = check_source(
            _end_user(data.end_user_ip, data.end_user_id), caller.ip, public_key=caller.key_public, app=client
        )
        if not (data.code.isascii() and data.code.isdigit()):
            raise ValidationFailed("code: must be digits only", [{"field": "code", "message": "digits only"}])
        if data.id is not None:
            verification_id = _known_id(data.id)
            result = await caller.service.check(
                code=data.code, verification_id=verification_id, client=client, source=source
            )
        else:
            result = await caller.service.check(code=data.code, to=data.to, client=client, source=source)
        return check_out(result)

    @get(
        "/{verification_id:str}",
        operation_id="getVerification",
        operation_class=ApiOperation,
        summary="Read a verification and its delivery state",
        responses=problem_responses(P.VALIDATION_ERROR, P.UNAUTHORIZED, P.NOT_FOUND, P.STORE_UNAVAILABLE),
    )
    async def status(self, verification_id: FromPath[str], caller: NamedDependency[Caller]) -> VerificationOut:
        return verification_out(await caller.service.status(_known_id(verification_id), caller.client), _now_ms())

    @post(
        "/{verification_id:str}/cancel",
        status_code=200,
        operation_id="cancelVerification",
        operation_class=ApiOperation,
        summary="Cancel a pending verification",
        responses=problem_responses(P.VALIDATION_ERROR, P.UNAUTHORIZED, P.NOT_FOUND, P.STORE_UNAVAILABLE),
    )
    async def cancel(self, verification_id: FromPath[str], caller: NamedDependency[Caller]) -> VerificationOut:
        return verification_out(await caller.service.cancel(_known_id(verification_id), caller.client), _now_ms())
