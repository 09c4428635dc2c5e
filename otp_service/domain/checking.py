"""Checking a code: charge an attempt first, then judge it by what the stored record says.

``check`` dispatches on what the stored record says (local hash, vendor-checked, test number), never
on the current settings, so a verification started before a settings change is checked the way it
was sent. Every code of a valid format is charged an attempt before it is judged, a code of the
wrong length too (judged wrong without asking anyone): answering it for free would tell anyone which
numbers are in the middle of a login.

A request that fails after it was charged (``503 store_unavailable`` on a stalled Redis, a vendor
that cannot check) gives the charge back by its token (``releases.py``): such an answer costs nothing.
"""

from __future__ import annotations

import math
import uuid

import structlog

from providers import CheckOutcome

from ..metrics import CHECKS, RATE_LIMITED
from .check_sources import SourceBudget
from .codes import CodeHasher
from .dispatcher import Dispatcher
from .errors import NotFound, RateLimited, StoreUnavailable
from .events import EventSink, EventType
from .fraud import FraudGuard
from .models import CheckResult, Mode, Status
from .phone import Phone, parse_phone
from .policy import LiveSettings
from .releases import Releases
from .verification_store import CheckVerdict, FinishOutcome, TakeOutcome, VerificationStore

__all__ = ("CheckFlow",)

_VENDOR_OUTCOME = {
    CheckOutcome.APPROVED: CheckVerdict.APPROVED,
    CheckOutcome.WRONG_CODE: CheckVerdict.WRONG,
    CheckOutcome.EXPIRED: CheckVerdict.EXPIRED,
    CheckOutcome.LOCKED: CheckVerdict.LOCKED,
}

# A charge refused by a window: the limit that refused it, and what the answer says.
_REFUSED = {
    TakeOutcome.SOURCE_BUDGET: ("source_check_limit", "Too many failed checks for this number from this end user."),
    TakeOutcome.BUDGET: ("check_limit", "Too many failed checks for this number."),
}

_FINISHED = {FinishOutcome.APPROVED: EventType.APPROVED, FinishOutcome.DEAD: EventType.MAX_ATTEMPTS_REACHED}


class CheckFlow:
    """The check half of ``OtpService``; its state is set by ``OtpService.__init__``."""

    store: VerificationStore
    releases: Releases
    dispatcher: Dispatcher
    hasher: CodeHasher
    check_sources: bool  # charge each end user's failures on a number too (check_sources.py)
    fraud: FraudGuard | None
    events: EventSink

    async def _settings(self, client: str) -> LiveSettings:
        raise NotImplementedError

    # -- check --------------------------------------------------------------------------------
    async def check(
        self,
        *,
        code: str,
        to: str | None = None,
        verification_id: str | None = None,
        client: str = "",
        source: str = "",
    ) -> CheckResult:
        """Only the app's own verification is found (another app's id reads as not found).

        ``source`` is who is checking (``check_sources.py``): its own failures, and the number's,
        decide whether the code is judged at all.
        """
        live = await self._settings(client)
        if verification_id is not None:
            stored = await self.store.phone_for_id(verification_id)
            if stored is None:
                raise NotFound("No pending verification with this id.")
            phone = parse_phone(stored)
        else:
            assert to is not None
            phone = parse_phone(to)
        e164 = phone.e164
        structlog.contextvars.bind_contextvars(to=phone.masked())
        token = uuid.uuid4().hex
        source = source if self.check_sources else ""
        budget = None
        if source:
            window = live.source_check_limit
            budget = SourceBudget(source, limit=window.count, window_ms=window.window_seconds * 1000)

        async def release() -> None:  # the attempt, the number's failed-check slot, the source's slot
            await self.store.release_check(e164, token, source=source)

        try:  # one round trip: the source's slot (and its allowance) and the attempt
            taken = await self.store.take_attempt(
                e164,
                expected_id=verification_id or "",
                limit=live.check_limit.count,
                window_ms=live.check_limit.window_seconds * 1000,
                token=token,
                app=client,
                source=budget,
            )
        except BaseException:  # no answer: the script may still run when Redis wakes up
            self.releases.later("check", release)
            raise
        # Not judged (missing, either budget): the script took no slot of the source's.
        if taken.outcome in _REFUSED:
            limit, message = _REFUSED[taken.outcome]
            CHECKS.labels("rate_limited").inc()
            RATE_LIMITED.labels(limit).inc()
            raise RateLimited(message, limit=limit, retry_after_s=math.ceil(taken.wait_ms / 1000))
        if taken.outcome is TakeOutcome.MISSING:
            CHECKS.labels("not_found").inc()
            raise NotFound("No pending verification for this number or id.")
        structlog.contextvars.bind_contextvars(verification_id=taken.id)

        try:
            if len(code) != taken.code_length:
                outcome = CheckVerdict.WRONG  # cannot be right: no vendor call, no hash
            elif taken.mode == "delegated":
                outcome = await self._vendor_check(phone, taken.provider, code, taken.reference)
            else:
                valid = await self.hasher.verify(taken.code_hash, taken.id, code)
                outcome = CheckVerdict.APPROVED if valid else CheckVerdict.WRONG
        except BaseException as exc:  # not judged: the attempt (and the source's slot) is given back
            await self.releases.give_back("check", release, store_down=isinstance(exc, StoreUnavailable))
            raise
        try:
            result, left = await self.store.finish_check(
                e164,
                taken.id,
                gen=taken.gen,
                outcome=outcome,
                token=token,
                attempts_left=taken.attempts_left,
                app=client,
                source=source,  # only a wrong code is a failure: any other answer gives its slot back
            )
        except BaseException:  # the answer is a 503: whatever the finish did when it lands is given back
            self.releases.later("check", release)
            raise
        CHECKS.labels(result).inc()
        structlog.contextvars.bind_contextvars(outcome=result)
        if result in _FINISHED:
            await self.events.finished(_FINISHED[result], vid=taken.id, e164=e164, app=client)
        if result is FinishOutcome.APPROVED:
            if self.fraud is not None and taken.mode != Mode.TEST:  # the conversion guard's approvals
                await self.fraud.approved(e164)
            return CheckResult(id=taken.id, to=e164, status=Status.APPROVED, valid=True)
        if result is FinishOutcome.WRONG:
            return CheckResult(id=taken.id, to=e164, status=Status.PENDING, valid=False, attempts_left=left)
        if result is FinishOutcome.DEAD:
            return CheckResult(
                id=taken.id, to=e164, status=Status.MAX_ATTEMPTS_REACHED, valid=False, attempts_left=left
            )
        raise NotFound("No pending verification for this number or id.")

    async def _vendor_check(self, phone: Phone, provider: str, code: str, reference: str) -> CheckVerdict:
        outcome = await self.dispatcher.check(provider, phone.msisdn, code, reference=reference)
        return _VENDOR_OUTCOME[outcome]
