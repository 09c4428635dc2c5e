"""WhatsApp codes that were not delivered fall back to SMS, once, on whichever replica learns it first.

Rules (the refusal case, decided within the send, is in ``channels.py``):

* **undelivered**: a receipt says the WhatsApp message was undelivered or failed. The replica that
  receives the receipt sends the SMS.
* **no_receipt**: no delivered receipt within ``whatsapp_fallback_seconds``. Each WhatsApp send adds
  its deadline to one sorted set (``Keys.fallback_due``); every replica sweeps it a few times a second
  with a script that removes the due entries it returns, so each deadline fires on exactly one replica,
  and a replica that dies takes no deadline with it (the others sweep the same set).
* Whichever comes first claims the verification (``fallback_claim.lua``): a verification falls back at
  most once, never after a delivered receipt, never once approved, canceled or expired.
* The SMS carries a **new code** (ours, or a verification vendor's), through the number's SMS route,
  asking for the code's remaining lifetime as validity. It replaces the WhatsApp code in the same
  record (same verification id): the WhatsApp code stops being valid, a check of it still in flight
  cannot settle the verification (``gen`` moves on), the attempts left and the expiry are kept, and no
  send limit or cooldown is charged again.
* If no provider can send the SMS, the WhatsApp code stays the live one (``fallback_state: failed``).
* The SMS is charged to the send budgets (``FraudGuard.charge``), not judged again by the conversion
  guard: the verification was admitted once. A spent budget is a failed fallback, as above. The app
  hears of it as a ``verification.delivery_updated`` event with ``channel: sms``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Iterable

import structlog

from providers import Channel, DeliveryStatus, SendOptions

from .channels import deliver
from .codes import CodeHasher
from .dispatcher import Dispatcher
from .errors import DomainError, ProviderUnavailableError, StoreUnavailable
from .events import EventSink
from .fraud import FraudGuard
from .local_code import LocalDraft
from .models import Verification
from .phone import parse_phone
from .policy import LiveSettings
from .redis_store import as_text
from .verification_store import VerificationStore

__all__ = ("SWEEP_INTERVAL_S", "WhatsappFallback")

log = structlog.get_logger("otp.delivery")

SWEEP_INTERVAL_S = 0.25  # how often each replica looks for due deadlines
SWEEP_BATCH = 100  # the most deadlines one sweep claims
IDLE_CHECK_S = 30.0  # how often a replica with nothing armed looks for deadlines others left
SWEEP_BACKOFF_S = 10.0  # the longest pause after failed sweeps
FAILED = frozenset({DeliveryStatus.UNDELIVERED, DeliveryStatus.FAILED})


class WhatsappFallback:
    def __init__(
        self,
        store: VerificationStore,
        dispatcher: Dispatcher,
        hasher: CodeHasher,
        settings: Callable[[str], Awaitable[LiveSettings]],
        *,
        webotp_host: str | None = None,
        fraud: FraudGuard | None = None,
        events: EventSink | None = None,
    ) -> None:
        self.store = store
        self._redis = store.redis_store
        self.dispatcher = dispatcher
        self.hasher = hasher
        self.settings = settings
        self.webotp_host = webotp_host
        self.fraud = fraud  # the SMS is charged to the budgets like any other
        self.events = events or EventSink()
        self.active = asyncio.Event()  # set once this replica has a reason to sweep (run_sweeper)

    async def arm(self, verification: Verification, wait_s: int) -> None:
        """Start the wait for a WhatsApp code's delivered receipt.

        The code is stored and sent by now: if Redis cannot take the deadline, the send still stands
        (a receipt can still make it fall back), so the failure is logged, not answered."""
        if verification.channel != Channel.WHATSAPP:
            return
        r = self._redis
        member = f"{verification.id}|{verification.to}"
        self.active.set()
        try:
            await r.script(r.scripts.fallback_arm, [r.keys.fallback_due], [member, wait_s * 1000])
        except DomainError as exc:
            log.warning("whatsapp.arm_failed", verification_id=verification.id, error=type(exc).__name__)

    async def after_receipts(self, matched: Iterable[tuple[str, str, DeliveryStatus]]) -> int:
        """Fall back for each undelivered or failed receipt of a pending WhatsApp code."""
        done = 0
        for vid, e164, status in matched:
            if status in FAILED:
                done += await self.fall_back(vid, e164, "undelivered")
        return done

    async def sweep_once(self) -> int:
        """Claim the due deadlines and fall back for each; returns how many fell back."""
        r = self._redis
        # Awaited in full rather than under the store's per-call deadline: a call left to finish in the
        # background could reopen connections after shutdown closed the client. Socket timeouts still
        # bound each wait, and shutdown waits for the sweep under way.
        due = await r.scripts.fallback_sweep(keys=[r.keys.fallback_due], args=[SWEEP_BATCH])
        done = 0
        for raw in due:
            vid, _, e164 = as_text(raw).partition("|")
            done += await self.fall_back(vid, e164, "no_receipt")
        return done

    async def run_sweeper(
        self, stop: asyncio.Event, interval_s: float = SWEEP_INTERVAL_S, idle_check_s: float = IDLE_CHECK_S
    ) -> None:
        """Sweep until ``stop`` is set, finishing the sweep under way (a command cancelled halfway would
        leave a connection half-used); a failed sweep (Redis down) is logged and retried later.

        A replica sweeps once it has armed a deadline, or once it finds deadlines waiting (left by
        replicas that stopped or were scaled away), which it looks for every ``idle_check_s``: a
        deployment that never sends WhatsApp asks Redis one ZCARD that often, and no deadline waits
        for a WhatsApp send to wake a sweeper.
        """
        r = self._redis
        while not stop.is_set() and not self.active.is_set():
            with contextlib.suppress(Exception):
                if await r.run(lambda: r.redis.zcard(r.keys.fallback_due)):
                    self.active.set()
                    break
            waits = {asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self.active.wait())}
            try:
                await asyncio.wait(waits, timeout=idle_check_s, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for pending in waits:
                    pending.cancel()
        failures = 0
        while not stop.is_set():
            try:
                await self.sweep_once()
                failures = 0
            except Exception as exc:  # the sweeper must outlive any one failure
                failures += 1
                log.warning("whatsapp.sweep_failed", error=type(exc).__name__, failures=failures)
            # A store that keeps failing is left alone a while (up to SWEEP_BACKOFF_S): requests meet
            # the outage anyway, and the deadlines wait in Redis for the next sweep.
            wait_s = min(SWEEP_BACKOFF_S, interval_s * 4**failures)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), wait_s)

    async def fall_back(self, vid: str, e164: str, reason: str) -> bool:
        """Claim the verification, send the SMS, store it; False when there was nothing to do."""
        r = self._redis
        record = r.keys.record(e164, vid)
        claim = await r.script(r.scripts.fallback_claim, [record], [reason])
        if as_text(claim[0]) != "ok":
            return False
        to, client, locale, expires_ms = (as_text(v) for v in claim[1:5])
        left_ms = int(expires_ms) - int(time.time() * 1000)
        bind = {"verification_id": vid, "reason": reason}
        try:
            live = await self.settings(client)
            phone = parse_phone(to)
            draft = LocalDraft(
                vid, live, self.hasher, locale=locale or None, app_hash=None, webotp_host=self.webotp_host
            )
            options = SendOptions(channel=Channel.SMS, validity_s=max(1, left_ms // 1000), locale=locale or None)
            admission = await self.fraud.charge(phone, client, live) if self.fraud is not None else None
            try:
                delivered = await deliver(
                    self.dispatcher,
                    live,
                    phone,
                    Channel.SMS,
                    reference=vid,
                    sms_draft=draft,
                    make_draft=lambda _: draft,
                    options=options,
                )
            except BaseException as exc:
                draft.cancel()
                if admission is not None and self.fraud is not None:
                    await self.fraud.give_back(admission, store_down=isinstance(exc, StoreUnavailable))
                raise
        except (DomainError, ProviderUnavailableError) as exc:
            await r.script(r.scripts.fallback_commit, [record], ["failed"])
            log.warning("whatsapp.fallback_failed", error=type(exc).__name__, **bind)
            return False
        fields = await delivered.record_fields()
        flat: list[str | int] = []
        for name, value in fields.items():
            flat += [name, value]
        stored = bool(await r.script(r.scripts.fallback_commit, [record], ["done", *flat]))
        if stored:
            ids = sorted({delivered.message_id, delivered.reference, f"to:{phone.msisdn.digits}"} - {""})
            with contextlib.suppress(DomainError):  # the record is right; only receipt lookups would miss
                await self.store.index(vid, e164, max(left_ms, 1000), [(delivered.provider, i) for i in ids])
            verification = await self.store.read(e164, vid)
            if verification is not None:  # the app hears that an SMS now carries the code
                await self.events.delivery_updated(verification)
        log.info("whatsapp.fallback", provider=delivered.provider, stored=stored, **bind)
        return stored
