"""Starting a verification: idempotency, limits, the test-number shortcut, delivery, then the stored hash.

Order follows Supabase Auth's phone flow: limits first (cooldown, per-number, per-client, per-IP),
then the test-number shortcut, then delivery, and only after a provider took the message is the
code's hash stored. Storing after sending means a failed chain leaves the previous pending code (if
any) untouched and costs the user no quota; the reply is only sent once the hash is stored, so no
check can arrive before it.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from typing import Any

import msgspec
import structlog

from providers import Channel, DeliveryStatus, SendOptions

from .channels import deliver
from .codes import CodeHasher
from .dispatcher import Delivered, Dispatcher
from .errors import Conflict, StoreUnavailable
from .events import EventSink
from .fallback import WhatsappFallback
from .fraud import Admission, FraudGuard
from .idempotency_store import IdempotencyState, IdempotencyStore
from .limits import SendLimiter, SendReservation
from .local_code import LocalDraft
from .models import Mode, Verification
from .phone import Phone, parse_phone
from .policy import LiveSettings
from .releases import Releases
from .verification_store import VerificationStore

__all__ = ("SendFlow", "new_verification_id")


def new_verification_id() -> str:
    return f"vf_{secrets.token_hex(16)}"


class _Replay(msgspec.Struct):
    fingerprint: str
    verification: Verification


class SendFlow:
    """The send half of ``OtpService``; its state is set by ``OtpService.__init__``."""

    store: VerificationStore
    idempotency: IdempotencyStore
    limiter: SendLimiter
    releases: Releases
    dispatcher: Dispatcher
    hasher: CodeHasher
    webotp_host: str | None
    test_numbers_allowed: bool
    fraud: FraudGuard | None
    events: EventSink
    fallback: WhatsappFallback

    async def _settings(self, client: str) -> LiveSettings:
        raise NotImplementedError

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
        channel: Channel = Channel.SMS,
    ) -> tuple[Verification, bool]:
        """Returns the verification and whether it is a replay of an earlier idempotent request.

        ``ip`` is what the per-IP limit counts (``None``: no per-IP limit; see ``end_user.py``).
        """
        live = await self._settings(client)
        phone = parse_phone(to, live.allowed_countries)
        structlog.contextvars.bind_contextvars(to=phone.masked())
        if self.fraud is not None and not self._test_number(phone, live):  # test numbers cost no SMS
            await self.fraud.screen(phone, live)
        if not idempotency_key:
            started = await self._start(
                phone, live, client=client, ip=ip, locale=locale, app_hash=app_hash, channel=channel
            )
            return started, False

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
            verification = await self._start(
                phone, live, client=client, ip=ip, locale=locale, app_hash=app_hash, channel=channel
            )
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
        self,
        phone: Phone,
        live: LiveSettings,
        *,
        client: str,
        ip: str | None,
        locale: str | None,
        app_hash: str | None,
        channel: Channel = Channel.SMS,
    ) -> Verification:
        reservation = await self.limiter.reserve(phone.e164, client, ip, live)
        vid = reservation.begin.current_id or new_verification_id()
        test_code = live.test_numbers.get(phone.e164) if self._test_number(phone, live) else None
        draft = LocalDraft(
            vid, live, self.hasher, locale=locale, app_hash=app_hash, webotp_host=self.webotp_host, code=test_code
        )
        admission: Admission | None = None
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
                # The message is worth delivering only while the code lives (a new code gets the full TTL).
                options = SendOptions(validity_s=live.ttl_seconds, locale=locale)
                if self.fraud is not None:
                    admission = await self.fraud.admit(phone, client, live)
                delivered = await deliver(
                    self.dispatcher,
                    live,
                    phone,
                    channel,
                    reference=vid,
                    sms_draft=draft,
                    make_draft=lambda settings: LocalDraft(
                        vid, settings, self.hasher, locale=locale, app_hash=app_hash, webotp_host=self.webotp_host
                    ),
                    options=options,
                )
                admission = None  # delivered: the budgets keep the charge
            verification = await self._commit(phone, live, vid, reservation, delivered, client)
        except BaseException as exc:
            draft.cancel()
            if admission is not None and self.fraud is not None:
                await self.fraud.give_back(admission, store_down=isinstance(exc, StoreUnavailable))
            await self.limiter.release(reservation, store_down=isinstance(exc, StoreUnavailable))
            raise
        await self.fallback.arm(verification, live.whatsapp_fallback_seconds)
        return verification

    def _test_number(self, phone: Phone, live: LiveSettings) -> bool:
        return self.test_numbers_allowed and phone.e164 in live.test_numbers

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
        fields: dict[str, str | int] = {
            "to": phone.e164,
            **await delivered.record_fields(),
            "client": client,
            **delivered.extra,
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
        vendor_ids = sorted({delivered.message_id, delivered.reference, f"to:{phone.msisdn.digits}"} - {""})
        await self.store.index(vid, phone.e164, ttl_s * 1000, [(delivered.provider, v) for v in vendor_ids])
        structlog.contextvars.bind_contextvars(
            verification_id=vid, provider=delivered.provider, delivery=delivered.delivery_status, outcome="sent"
        )
        await self.events.verification_sent(verification, created=vid != reservation.begin.current_id)
        return verification
