"""What the Redis store tests share: a number, an id, and the calls the service makes, with defaults."""

from __future__ import annotations

from redis.asyncio import Redis

from otp_service.domain.redis_store import Keys
from otp_service.domain.verification_store import CheckVerdict, FinishOutcome, Taken, VerificationStore
from otp_service.domain.windows import Begin, LimitWindows

PHONE = "+34600100200"
OTHER_PHONE = "+5511987654321"
VID = "vf_0000000000000001"
LOCK_MS = 15_000
LOCK_TOKEN = "lock-token"
SLACK_MS = 1_000
KEYS = Keys()  # the stores' default prefix


async def redis_now_ms(redis: Redis) -> int:
    seconds, micros = await redis.time()
    return int(seconds) * 1000 + int(micros) // 1000


async def commit(
    store: VerificationStore,
    redis: Redis,
    *,
    phone: str = PHONE,
    vid: str = VID,
    fresh: bool = True,
    ttl_ms: int = 600_000,
    cooldown_ms: int = 0,
    lock_token: str = LOCK_TOKEN,
    max_attempts: int = 5,
    code_length: int = 6,
    code_hash: str = "$argon2id$v=19$fake",
    message_id: str = "",
) -> str | None:
    """Commit a send; returns the record's generation (``"1"``, then one more per resend) or None."""
    fields: dict[str, str | int] = {
        "to": phone,
        "mode": "local",
        "provider": "gatum",
        "code_length": code_length,
        "code_hash": code_hash,
        "client": "web",
    }
    if message_id:
        fields["message_id"] = message_id
    stored = await store.commit_send(
        phone,
        vid,
        fresh=fresh,
        ttl_ms=ttl_ms,
        cooldown_ms=cooldown_ms,
        lock_token=lock_token,
        max_attempts=max_attempts,
        fields=fields,
    )
    if stored is None:
        return None
    assert stored == await store.read(phone, vid)  # what the commit returns is the record as stored
    gen = await redis.hget(KEYS.record(phone, vid), "gen")  # type: ignore[misc]
    return gen.decode()  # type: ignore[no-any-return]


async def take(
    store: VerificationStore,
    token: str,
    *,
    phone: str = PHONE,
    expected_id: str = "",
    limit: int = 20,
    window_ms: int = 86_400_000,
) -> Taken:
    return await store.take_attempt(phone, expected_id=expected_id, limit=limit, window_ms=window_ms, token=token)


async def begin(
    windows: LimitWindows, token: str, *, phone: str = PHONE, limit: int = 5, window_ms: int = 600_000
) -> Begin:
    return await windows.begin_send(phone, limit=limit, window_ms=window_ms, token=token, lock_ms=LOCK_MS)


async def finish(
    store: VerificationStore, taken: Taken, outcome: CheckVerdict, token: str, *, vid: str = VID
) -> tuple[FinishOutcome, int]:
    """Finish a check the way the service does: with the gen and attempts_left its take_attempt returned."""
    return await store.finish_check(
        PHONE, vid, gen=taken.gen, outcome=outcome, token=token, attempts_left=taken.attempts_left
    )
