"""The verification use cases: start (send or resend), check, status, cancel, delivery receipts.

Order inside ``start`` follows Supabase Auth's phone flow: limits first (cooldown, per-number,
per-client, per-IP), then the test-number shortcut, then delivery, and only after a provider took the
message is the code's hash stored. Storing after sending means a failed chain leaves the previous
pending code (if any) untouched and costs the user no quota; the reply is only sent once the hash is
stored, so no check can arrive before it.

``check`` dispatches on what the stored record says (local hash, vendor-checked, test number), never
on the current settings, so a verification started before a settings change is checked the way it
was sent. Every code of a valid format is charged an attempt before it is judged, a code of the
wrong length too (judged wrong without asking anyone): answering it for free would tell anyone which
numbers are in the middle of a login.

A request that fails after it was charged (``503 store_unavailable`` on a stalled Redis, a vendor
that cannot check) gives the charge back by its token (``releases.py``): such an answer costs nothing.
"""

from __future__ import annotations

import hashlib
import math
import secrets
import uuid
from typing import Any

import msgspec
import structlog

from providers import CheckOutcome, DeliveryStatus, DeliveryUpdate, Providers

from ..metrics import CHECKS, RATE_LIMITED
from .app_settings import AppSettings
from .check_sources import UNLIMITED, CheckSources, SourceOutcome
from .codes import CodeHasher
from .dispatcher import Delivered, Dispatcher
from .errors import Conflict, NotFound, RateLimited, StoreUnavailable
from .idempotency_store import IdempotencyState, IdempotencyStore
from .limits import SendLimiter, SendReservation
from .live import LiveSettingsSource
from .local_code import LocalDraft
from .models import CheckResult, Mode, Status, Verification
from .phone import Phone, parse_phone
from .policy import LiveSettings
from .receipts import DELIVERY_RANK, ReceiptBook
from .releases import Releases
from .verification_store import CheckVerdict, FinishOutcome, TakeOutcome, VerificationStore

__all__ = ("OtpService", "new_verification_id")

log = structlog.get_logger("otp.service")

_VENDOR_OUTCOME = {
    CheckOutcome.APPROVED: CheckVerdict.APPROVED,
    CheckOutcome.WRONG_CODE: CheckVerdict.WRONG,
    CheckOutcome.EXPIRED: CheckVerdict.EXPIRED,
    CheckOutcome.LOCKED: CheckVerdict.LOCKED,
}


def new_verification_id() -> str:
    return f"vf_{secrets.token_hex(16)}"


class _Replay(msgspec.Struct):
    fingerprint: str
    verification: Verification


class OtpService:
    def __init__(
        self,
        *,
        store: VerificationStore,
        idempotency: IdempotencyStore,
        live: LiveSettingsSource,
        limiter: SendLimiter,
        dispatcher: Dispatcher,
        hasher: CodeHasher,
        webotp_host: str | None = None,
        test_numbers_allowed: bool = False,
        apps: AppSettings | None = None,
        sources: CheckSources | None = None,
    ) -> None:
        self.store = store
        self.idempotency = idempotency
        self.live = live
        self.limiter = limiter
        self.releases: Releases = limiter.releases
        self.dispatcher = dispatcher
        self.receipts = ReceiptBook(store)
        self.hasher = hasher
        self.webotp_host = webotp_host
        self.test_numbers_allowed = test_numbers_allowed
        self.apps = apps
        self.sources = sources

    async def _settings(self, client: str) -> LiveSettings:
        """The client app's effective settings (the global ones when it overrides nothing)."""
        return await self.apps.effective(client) if self.apps is not None else await self.live.get()

    @property
    def providers(self) -> Providers:
        return self.dispatcher.providers

    # -- start --------------------------------------------------------------------------------
    async def start(
        self,
        to: str,
        *,
        client: str,
        ip: str | None,
        locale: str | None = None,
        app_hash: str | None = None,
        idempotency_key: str | None = None,
        fingerprint: str = "",
    ) -> tuple[Verification, bool]:
        """Returns the verification and whether it is a replay of an earlier idempotent request.

        ``ip`` is what the per-IP limit counts (``None``: no per-IP limit; see ``end_user.py``).
        """
        live = await self._settings(client)
        phone = parse_phone(to, live.allowed_countries)
        structlog.contextvars.bind_contextvars(to=phone.masked())
        if not idempotency_key:
            return await self._start(phone, live, client=client, ip=ip, locale=locale, app_hash=app_hash), False

        digest = hashlib.sha256(f"{client}\0{idempotency_key}".encode()).hexdigest()
        ttl_ms = live.ttl_seconds * 1000
        token = uuid.uuid4().hex

        async def abort() -> None:
            await self.idempotency.abort(phone.e164, digest, token=token)

        try:
            state, value = await self.idempotency.begin(phone.e164, digest, fingerprint, ttl_ms, token=token)
        except BaseException:  # no answer: the claim may still land when Redis wakes up
            self.releases.later("idempotency", abort)
            raise
        if state is IdempotencyState.BUSY:
            raise Conflict("A request with this Idempotency-Key is still being processed.")
        if state is IdempotencyState.DONE:
            replay = msgspec.json.decode(value, type=_Replay)
            if not secrets.compare_digest(replay.fingerprint, fingerprint):
                raise Conflict("This Idempotency-Key was already used with a different request.")
            return replay.verification, True
        try:
            verification = await self._start(phone, live, client=client, ip=ip, locale=locale, app_hash=app_hash)
        except BaseException as exc:
            await self.releases.give_back("idempotency", abort, store_down=isinstance(exc, StoreUnavailable))
            raise
        document = msgspec.json.encode(_Replay(fingerprint=fingerprint, verification=verification))
        try:
            await self.idempotency.commit(phone.e164, digest, document, ttl_ms)
        except BaseException:  # a retry must not find the key "still being processed" for its whole TTL
            self.releases.later("idempotency", abort)
            raise
        return verification, False

    async def _start(
        self, phone: Phone, live: LiveSettings, *, client: str, ip: str | None, locale: str | None, app_hash: str | None
    ) -> Verification:
        reservation = await self.limiter.reserve(phone.e164, client, ip, live)
        vid = reservation.begin.current_id or new_verification_id()
        test_code = live.test_numbers.get(phone.e164) if self.test_numbers_allowed else None
        draft = LocalDraft(
            vid, live, self.hasher, locale=locale, app_hash=app_hash, webotp_host=self.webotp_host, code=test_code
        )
        try:
            if test_code is not None:
                delivered = Delivered(
                    provider="test",
                    mode=Mode.TEST,
                    delivery_status=DeliveryStatus.SENT,
                    local=draft.message(),
                    code_length=len(test_code),
                )
            else:
                delivered = await self.dispatcher.send(
                    live.providers, phone.msisdn, reference=vid, code_length=live.code_length, local=draft
                )
            return await self._commit(phone, live, vid, reservation, delivered, client)
        except BaseException as exc:
            draft.cancel()
            await self.limiter.release(reservation, store_down=isinstance(exc, StoreUnavailable))
            raise

    async def _commit(
        self,
        phone: Phone,
        live: LiveSettings,
        vid: str,
        reservation: SendReservation,
        delivered: Delivered,
        client: str,
    ) -> Verification:
        ttl_s = live.ttl_seconds
        if delivered.ttl_cap_s:
            ttl_s = max(1, min(ttl_s, delivered.ttl_cap_s))
        local = delivered.local
        code_hash = await local.code_hash if local is not None else ""
        fields: dict[str, str | int] = {
            "to": phone.e164,
            "channel": "sms",
            "mode": delivered.mode,
            "provider": delivered.provider,
            "reference": delivered.reference,
            "code_hash": code_hash,
            "code_length": delivered.code_length,
            "delivery_status": delivered.delivery_status,
            "delivery_provider": delivered.provider,
            "delivery_rank": DELIVERY_RANK[delivered.delivery_status],
            "message_id": delivered.message_id,
            "segments": local.segments if local is not None else 0,
            "encoding": local.encoding if local is not None else "",
            "client": client,
        }
        commit: dict[str, Any] = {
            "ttl_ms": ttl_s * 1000,
            "cooldown_ms": live.resend_cooldown_seconds * 1000,
            "lock_token": reservation.token,
            "max_attempts": live.max_attempts,
        }
        fresh = not reservation.begin.current_id
        commit["app"] = client
        verification = await self.store.commit_send(phone.e164, vid, fresh=fresh, fields=fields, **commit)
        if verification is None:
            # The verification we were resending was approved, canceled or expired meanwhile: the
            # message just sent starts a new one. The hash is bound to the id, so it is redone.
            vid = new_verification_id()
            if local is not None:
                fields["code_hash"] = await self.hasher.hash(vid, local.code)
            verification = await self.store.commit_send(phone.e164, vid, fresh=True, fields=fields, **commit)
            if verification is None:
                raise Conflict("The verification changed while the code was being sent; retry.")
        # Receipts name the vendor's message id; Message Central may name its verificationId instead.
        vendor_ids = sorted({delivered.message_id, delivered.reference} - {""})
        await self.store.index(vid, phone.e164, ttl_s * 1000, [(delivered.provider, v) for v in vendor_ids])
        structlog.contextvars.bind_contextvars(
            verification_id=vid, provider=delivered.provider, delivery=delivered.delivery_status, outcome="sent"
        )
        return verification

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
        source = source if self.sources is not None else ""

        async def release() -> None:  # the attempt, the number's failed-check slot, the source's slot
            await self.store.release_check(e164, token, source=source)

        async def not_a_failure() -> None:  # the source's charge landed, and this check is no failure
            await self.releases.give_back("check", lambda: self._give_back(e164, source, token), store_down=False)

        try:
            number_limit = await self._take_source(e164, source, token, live)
            taken = await self.store.take_attempt(
                e164,
                expected_id=verification_id or "",
                limit=number_limit,
                window_ms=live.check_limit.window_seconds * 1000,
                token=token,
                app=client,
            )
        except RateLimited:  # the source's budget refused: nothing was taken
            raise
        except BaseException:  # no answer: the script may still run when Redis wakes up
            self.releases.later("check", release)
            raise
        if taken.outcome is not TakeOutcome.OK:  # not judged: not a failure of this source
            await not_a_failure()
        if taken.outcome is TakeOutcome.MISSING:
            CHECKS.labels("not_found").inc()
            raise NotFound("No pending verification for this number or id.")
        if taken.outcome is TakeOutcome.BUDGET:
            CHECKS.labels("rate_limited").inc()
            RATE_LIMITED.labels("check_limit").inc()
            raise RateLimited(
                "Too many failed checks for this number.",
                limit="check_limit",
                retry_after_s=math.ceil(taken.wait_ms / 1000),
            )
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
            )
        except BaseException:  # the answer is a 503: whatever the finish did when it lands is given back
            self.releases.later("check", release)
            raise
        if result not in (FinishOutcome.WRONG, FinishOutcome.DEAD):  # only a wrong code is a failure
            await not_a_failure()
        CHECKS.labels(result).inc()
        structlog.contextvars.bind_contextvars(outcome=result)
        if result is FinishOutcome.APPROVED:
            return CheckResult(id=taken.id, to=e164, status=Status.APPROVED, valid=True)
        if result is FinishOutcome.WRONG:
            return CheckResult(id=taken.id, to=e164, status=Status.PENDING, valid=False, attempts_left=left)
        if result is FinishOutcome.DEAD:
            return CheckResult(
                id=taken.id, to=e164, status=Status.MAX_ATTEMPTS_REACHED, valid=False, attempts_left=left
            )
        raise NotFound("No pending verification for this number or id.")

    async def _take_source(self, e164: str, source: str, token: str, live: LiveSettings) -> int:
        """The number's window limit for this check (unlimited for a source with an allowance)."""
        if self.sources is None or not source:
            return live.check_limit.count
        took = await self.sources.take(
            e164,
            source,
            limit=live.source_check_limit.count,
            window_ms=live.source_check_limit.window_seconds * 1000,
            token=token,
            allowance_ms=live.check_limit.window_seconds * 1000,
        )
        if took.outcome is SourceOutcome.BUDGET:
            CHECKS.labels("rate_limited").inc()
            RATE_LIMITED.labels("source_check_limit").inc()
            raise RateLimited(
                "Too many failed checks for this number from this end user.",
                limit="source_check_limit",
                retry_after_s=math.ceil(took.wait_ms / 1000),
            )
        return UNLIMITED if took.allowance else live.check_limit.count

    async def _give_back(self, e164: str, source: str, token: str) -> None:
        if self.sources is not None and source:
            await self.sources.give_back(e164, source, token)

    async def _vendor_check(self, phone: Phone, provider: str, code: str, reference: str) -> CheckVerdict:
        outcome = await self.dispatcher.check(provider, phone.msisdn, code, reference=reference)
        return _VENDOR_OUTCOME[outcome]

    # -- status, cancel, receipts -------------------------------------------------------------
    async def get(self, verification_id: str, client: str = "") -> Verification:
        """Another app's verification reads as not found: an id proves nothing about who may see it."""
        e164 = await self.store.phone_for_id(verification_id)
        verification = await self.store.read(e164, verification_id) if e164 else None
        if verification is None or verification.client != client:
            raise NotFound("No verification with this id.")
        return verification

    async def cancel(self, verification_id: str, client: str = "") -> Verification:
        try:
            verification = await self.get(verification_id, client)
        except NotFound:
            raise NotFound("No pending verification with this id.") from None
        if not await self.store.cancel(verification.to, verification_id, client):
            raise NotFound("No pending verification with this id.")
        structlog.contextvars.bind_contextvars(verification_id=verification_id)
        return await self.get(verification_id, client)

    async def apply_receipts(self, provider: str, updates: list[DeliveryUpdate]) -> int:
        """Apply what can be matched to a verification; unknown ids are ignored. Returns how many applied."""
        return await self.receipts.apply(provider, updates)
