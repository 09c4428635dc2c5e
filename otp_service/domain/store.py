"""Every Redis key and Lua script of the service.

Keys are hash-tagged so each script touches exactly one Redis Cluster slot:

* per phone number ``otp:{+34600100200}:...``: the live pointer (``cur``), each verification record
  (``vf:<id>``), the per-number send window, the failed-check window, the resend cooldown, the
  in-flight send lock and idempotency entries. Scripts that reach a record whose id they only learn
  inside the script build its key from the same tag, so they still stay in one slot.
* ``otp:{vf_...}:to`` maps an id to its number; ``otp:{msg:<provider>:<id>}`` maps a vendor message
  id to ours (for delivery receipts); ``otp:{client:<name>}:sends`` and ``otp:{ip:<addr>}:sends`` are
  the per-client and per-IP windows; ``otp:{settings}:*`` holds the live settings and their audit log.

Time comes from Redis (``TIME`` inside the scripts), so replicas with skewed clocks still agree on
windows, cooldowns and expiry. Everything carries a TTL; nothing needs a cleanup job.

Rate limits are sliding-window logs (a sorted set of reservation tokens scored by time) rather than
GCRA or fixed windows: they are exact (N concurrent requests never pass more than the limit), the
``Retry-After`` is exact (when the oldest entry leaves the window), and a reservation can be refunded
by removing its token, which is how a send that no provider delivered leaves the user's quota
untouched and how a right code is not counted as a failed check. The ``limits`` library's moving
window has no per-request refund and cannot be combined with the cooldown and lock in one atomic
script, so these are Lua. Memory is bounded by the limit's count per key.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import msgspec
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import RedisClusterException, RedisError

from .errors import StoreUnavailable
from .models import Verification

__all__ = ("AnyRedis", "Begin", "Taken", "VerificationStore")

AnyRedis = Redis | RedisCluster
T = TypeVar("T")

RETAIN_MS = 24 * 3600 * 1000  # a finished verification stays readable this long

_NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
"""

# Sliding-window reservation used inline by several scripts. Returns nil when reserved, else the
# milliseconds until the oldest entry leaves the window.
_WINDOW_FN = """
local function reserve(key, limit, window, token, now)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  if redis.call('ZCARD', key) >= limit then
    local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
    return math.max(1, tonumber(oldest[2]) + window - now)
  end
  redis.call('ZADD', key, now, token)
  redis.call('PEXPIRE', key, window)
  return nil
end
"""

# KEYS: cur, sends, cooldown, lock. ARGV: limit, window_ms, token, lock_ms
BEGIN_SEND = (
    _NOW
    + _WINDOW_FN
    + """
local cd = redis.call('PTTL', KEYS[3])
if cd > 0 then return {'cooldown', cd} end
local lk = redis.call('PTTL', KEYS[4])
if lk > 0 then return {'busy', lk} end
local wait = reserve(KEYS[2], tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3], now)
if wait then return {'limit', wait} end
redis.call('SET', KEYS[4], ARGV[3], 'PX', ARGV[4])
return {'ok', now, redis.call('GET', KEYS[1]) or ''}
"""
)

# KEYS: window. ARGV: limit, window_ms, token
RESERVE = (
    _NOW
    + _WINDOW_FN
    + """
local wait = reserve(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3], now)
if wait then return wait end
return 0
"""
)

# KEYS: sends, lock. ARGV: token. Gives back what BEGIN_SEND took when nothing was delivered.
ABORT_SEND = """
redis.call('ZREM', KEYS[1], ARGV[1])
if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
return 1
"""

# KEYS: cur, record, cooldown, lock.
# ARGV: id, fresh('1'|'0'), ttl_ms, cooldown_ms, lock_token, retain_ms, max_attempts, field, value, ...
COMMIT_SEND = (
    _NOW
    + """
local id, ttl, cooldown = ARGV[1], tonumber(ARGV[3]), tonumber(ARGV[4])
if ARGV[2] == '0' then
  local st = redis.call('HMGET', KEYS[2], 'status', 'expires_ms')
  if redis.call('GET', KEYS[1]) ~= id or st[1] ~= 'pending' or tonumber(st[2]) <= now then
    return {'gone'}
  end
  redis.call('HINCRBY', KEYS[2], 'gen', 1)
else
  if redis.call('EXISTS', KEYS[2]) == 1 then return {'gone'} end
  redis.call('HSET', KEYS[2], 'id', id, 'gen', 1, 'created_ms', now, 'status', 'pending')
end
local fields = {}
for i = 8, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('HSET', KEYS[2], unpack(fields))
redis.call('HSET', KEYS[2], 'attempts_left', ARGV[7], 'max_attempts', ARGV[7],
  'expires_ms', now + ttl, 'resend_ms', now + cooldown, 'delivery_ms', now)
redis.call('PEXPIRE', KEYS[2], ttl + tonumber(ARGV[6]))
redis.call('SET', KEYS[1], id, 'PX', ttl)
if cooldown > 0 then redis.call('SET', KEYS[3], '1', 'PX', cooldown) end
if redis.call('GET', KEYS[4]) == ARGV[5] then redis.call('DEL', KEYS[4]) end
return {'ok', redis.call('HGETALL', KEYS[2])}
"""
)

# KEYS: cur, fails. ARGV: expected_id or '', code_length, limit, window_ms, token, record_prefix
TAKE_ATTEMPT = (
    _NOW
    + _WINDOW_FN
    + """
local vid = redis.call('GET', KEYS[1])
if not vid then return {'missing'} end
if ARGV[1] ~= '' and ARGV[1] ~= vid then return {'missing'} end
local rk = ARGV[6] .. vid
local r = redis.call('HMGET', rk, 'status', 'expires_ms', 'attempts_left', 'code_length', 'gen',
  'mode', 'provider', 'reference', 'code_hash')
if r[1] ~= 'pending' or tonumber(r[2]) <= now or tonumber(r[3]) <= 0 then return {'missing'} end
if tonumber(r[4]) ~= tonumber(ARGV[2]) then return {'length', r[4]} end
local wait = reserve(KEYS[2], tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5], now)
if wait then return {'budget', wait} end
local left = redis.call('HINCRBY', rk, 'attempts_left', -1)
return {'ok', vid, r[5], left, r[6], r[7], r[8] or '', r[9] or ''}
"""
)

# KEYS: cur, fails, record. ARGV: id, gen, outcome, token, retain_ms, attempts_left_after_this_check
# outcome: approved | wrong | expired (vendor says dead) | locked (vendor stopped) | refund (not checked)
# The check that took the last attempt decides: if it is wrong, the verification dies at once, even if
# an earlier concurrent check is still being verified (that one then finds nothing to approve). Only
# concurrent guessing can hit this, and refusing it is the safe side.
FINISH_CHECK = (
    _NOW
    + """
local id, gen, outcome = ARGV[1], ARGV[2], ARGV[3]
if redis.call('EXISTS', KEYS[3]) == 0 then return {'missing'} end
local r = redis.call('HMGET', KEYS[3], 'status', 'gen')
local live = r[1] == 'pending' and r[2] == gen
local function finish(status)
  redis.call('HSET', KEYS[3], 'status', status, 'finished_ms', now)
  if redis.call('GET', KEYS[1]) == id then redis.call('DEL', KEYS[1]) end
  redis.call('PEXPIRE', KEYS[3], tonumber(ARGV[5]))
end
if outcome == 'refund' then
  redis.call('ZREM', KEYS[2], ARGV[4])
  if live then redis.call('HINCRBY', KEYS[3], 'attempts_left', 1) end
  return {'refunded'}
end
if outcome == 'approved' then
  redis.call('ZREM', KEYS[2], ARGV[4])
  if live and redis.call('GET', KEYS[1]) == id then finish('approved') return {'approved'} end
  return {'missing'}
end
if outcome == 'expired' then
  redis.call('ZREM', KEYS[2], ARGV[4])
  if live then finish('expired') end
  return {'missing'}
end
if not live then
  if r[1] == 'pending' then return {'wrong', tonumber(ARGV[6])} end
  -- A concurrent check used the last attempt and killed it first: this guess was charged and wrong.
  if r[1] == 'max_attempts_reached' then return {'dead'} end
  return {'missing'}
end
if outcome == 'locked' or tonumber(ARGV[6]) <= 0 then
  redis.call('HSET', KEYS[3], 'attempts_left', 0)
  finish('max_attempts_reached')
  return {'dead'}
end
return {'wrong', tonumber(ARGV[6])}
"""
)

# KEYS: cur, record. ARGV: id, retain_ms
CANCEL = (
    _NOW
    + """
local r = redis.call('HMGET', KEYS[2], 'status', 'expires_ms')
if r[1] ~= 'pending' or tonumber(r[2]) <= now then return 0 end
redis.call('HSET', KEYS[2], 'status', 'canceled', 'finished_ms', now)
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[2]))
return 1
"""
)

# KEYS: record. ARGV: status, provider, rank, message_id
# A receipt never moves delivery backwards (a late "sent" after "delivered") and a receipt for the
# message of an earlier send (before a resend) does not overwrite the current message's state.
RECEIPT = (
    _NOW
    + """
local r = redis.call('HMGET', KEYS[1], 'id', 'delivery_rank', 'message_id', 'reference')
if not r[1] then return 0 end
if ARGV[4] ~= '' and r[3] and r[3] ~= '' and r[3] ~= ARGV[4] and r[4] ~= ARGV[4] then return 0 end
if tonumber(r[2] or '0') > tonumber(ARGV[3]) then return 0 end
redis.call('HSET', KEYS[1], 'delivery_status', ARGV[1], 'delivery_provider', ARGV[2],
  'delivery_rank', ARGV[3], 'delivery_ms', now)
return 1
"""
)

# KEYS: idem. ARGV: fingerprint, ttl_ms
IDEM_BEGIN = """
local v = redis.call('GET', KEYS[1])
if not v then
  redis.call('SET', KEYS[1], 'pending:' .. ARGV[1], 'PX', ARGV[2])
  return {'new'}
end
if string.sub(v, 1, 8) == 'pending:' then return {'busy', string.sub(v, 9)} end
return {'done', v}
"""

# KEYS: idem. ARGV: fingerprint
IDEM_ABORT = """
if redis.call('GET', KEYS[1]) == 'pending:' .. ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
"""

# KEYS: live, audit. ARGV: expected_version, new_document, audit entries...
SETTINGS_CAS = """
local cur = redis.call('GET', KEYS[1])
local version = 0
if cur then version = cjson.decode(cur)['version'] end
if tostring(version) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
for i = 3, #ARGV do redis.call('LPUSH', KEYS[2], ARGV[i]) end
redis.call('LTRIM', KEYS[2], 0, 999)
return 1
"""


class Begin(msgspec.Struct, frozen=True):
    outcome: str  # ok | cooldown | busy | limit
    wait_ms: int = 0
    now_ms: int = 0
    current_id: str = ""


class Taken(msgspec.Struct, frozen=True):
    outcome: str  # ok | missing | length | budget
    id: str = ""
    gen: str = ""
    attempts_left: int = 0
    code_length: int = 0
    wait_ms: int = 0
    mode: str = ""
    provider: str = ""
    reference: str = ""
    code_hash: str = ""


def _s(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _verification(raw: dict[Any, Any]) -> Verification:
    return msgspec.convert({_s(k): _s(v) for k, v in raw.items()}, Verification, strict=False)


class VerificationStore:
    """Owns the Redis layout; every method is one round trip (one script or one command)."""

    def __init__(self, redis: AnyRedis, *, prefix: str = "otp", deadline_s: float | None = None) -> None:
        self.redis = redis
        self.prefix = prefix
        # A bound on each call as a whole. Socket timeouts bound each network wait, but one call can
        # make several (the cluster client re-reads the topology from every node after a timeout, and
        # requests queue behind its lock while it does): without this, a stalled Redis stacks them.
        self.deadline_s = deadline_s
        self._abandoned: set[asyncio.Future[Any]] = set()  # timed-out calls still cleaning up
        self._scripts = {
            name: redis.register_script(source)
            for name, source in {
                "begin_send": BEGIN_SEND,
                "reserve": RESERVE,
                "abort_send": ABORT_SEND,
                "commit_send": COMMIT_SEND,
                "take_attempt": TAKE_ATTEMPT,
                "finish_check": FINISH_CHECK,
                "cancel": CANCEL,
                "receipt": RECEIPT,
                "idem_begin": IDEM_BEGIN,
                "idem_abort": IDEM_ABORT,
                "settings_cas": SETTINGS_CAS,
            }.items()
        }

    # -- keys ---------------------------------------------------------------------------------
    def phone_key(self, phone: str, part: str) -> str:
        return f"{self.prefix}:{{{phone}}}:{part}"

    def record_key(self, phone: str, vid: str) -> str:
        return self.phone_key(phone, f"vf:{vid}")

    def id_key(self, vid: str) -> str:
        return f"{self.prefix}:{{{vid}}}:to"

    def message_key(self, provider: str, message_id: str) -> str:
        return f"{self.prefix}:{{msg:{provider}:{message_id}}}"

    def window_key(self, kind: str, ident: str) -> str:
        return f"{self.prefix}:{{{kind}:{ident}}}:sends"

    @property
    def settings_key(self) -> str:
        return f"{self.prefix}:{{settings}}:live"

    @property
    def audit_key(self) -> str:
        return f"{self.prefix}:{{settings}}:audit"

    # -- plumbing -----------------------------------------------------------------------------
    async def _run(self, call: Callable[[], Awaitable[T]]) -> T:
        try:
            if self.deadline_s is None:
                return await call()
            return await self._within_deadline(call, self.deadline_s)
        # RedisClusterException: no cluster node answers (not a RedisError). OSError: a socket error
        # redis-py did not wrap, or the deadline (TimeoutError).
        except (RedisError, RedisClusterException, OSError) as exc:
            raise StoreUnavailable("The verification store is unavailable.") from exc

    async def _within_deadline(self, call: Callable[[], Awaitable[T]], deadline_s: float) -> T:
        """The call runs as a task of its own, so that the deadline holds for the request even when
        redis-py, once cancelled, goes on closing connections to a server that doesn't answer (the
        cluster client's clean-up after a failed topology read took 0.9 s more, seen in the stall
        test). That clean-up finishes in the background; the request has its 503 already."""
        task = asyncio.ensure_future(call())
        try:
            done, _ = await asyncio.wait((task,), timeout=deadline_s)
        except asyncio.CancelledError:  # the request itself was cancelled (client gone, shutdown)
            task.cancel()
            raise
        if done:
            return task.result()
        task.cancel()
        self._abandoned.add(task)
        task.add_done_callback(self._forget)
        raise TimeoutError(f"no answer from Redis within {deadline_s} s")

    def _forget(self, task: asyncio.Future[Any]) -> None:
        self._abandoned.discard(task)
        if not task.cancelled():
            task.exception()  # retrieved: it is the timeout the request already answered with

    async def _script(self, name: str, keys: Sequence[str], args: Sequence[Any]) -> Any:
        script = self._scripts[name]
        return await self._run(lambda: script(keys=list(keys), args=list(args)))

    async def ping(self) -> bool:
        return bool(await self._run(self.redis.ping))

    # -- sending ------------------------------------------------------------------------------
    async def begin_send(self, phone: str, *, limit: int, window_ms: int, token: str, lock_ms: int) -> Begin:
        keys = [self.phone_key(phone, p) for p in ("cur", "sends", "cooldown", "sending")]
        res = await self._script("begin_send", keys, [limit, window_ms, token, lock_ms])
        kind = _s(res[0])
        if kind == "ok":
            return Begin("ok", now_ms=int(res[1]), current_id=_s(res[2]))
        return Begin(kind, wait_ms=int(res[1]))

    async def reserve(self, kind: str, ident: str, *, limit: int, window_ms: int, token: str) -> int:
        """0 when reserved, else milliseconds until a slot frees up."""
        return int(await self._script("reserve", [self.window_key(kind, ident)], [limit, window_ms, token]))

    async def refund(self, kind: str, ident: str, token: str) -> None:
        key = self.window_key(kind, ident)
        await self._run(lambda: self.redis.zrem(key, token))

    async def abort_send(self, phone: str, token: str) -> None:
        keys = [self.phone_key(phone, "sends"), self.phone_key(phone, "sending")]
        await self._script("abort_send", keys, [token])

    async def commit_send(
        self,
        phone: str,
        vid: str,
        *,
        fresh: bool,
        ttl_ms: int,
        cooldown_ms: int,
        lock_token: str,
        max_attempts: int,
        fields: dict[str, str | int],
    ) -> Verification | None:
        """Store the new code (or replace the live one) and return the record as stored (no second
        round trip to read it back); None when the live one finished meanwhile."""
        keys = [
            self.phone_key(phone, "cur"),
            self.record_key(phone, vid),
            self.phone_key(phone, "cooldown"),
            self.phone_key(phone, "sending"),
        ]
        flat: list[str | int] = []
        for name, value in fields.items():
            flat += [name, value]
        args = [vid, "1" if fresh else "0", ttl_ms, cooldown_ms, lock_token, RETAIN_MS, max_attempts, *flat]
        res = await self._script("commit_send", keys, args)
        if _s(res[0]) != "ok":
            return None
        record = res[1]  # HGETALL inside a script: a flat [field, value, ...] list
        return _verification(dict(zip(record[::2], record[1::2], strict=True)))

    async def index(self, vid: str, phone: str, ttl_ms: int, messages: Sequence[tuple[str, str]] = ()) -> None:
        """The lookups from our id to the number, and from each vendor message id to our id.

        One pipeline (not a transaction: the keys are on different cluster slots, and each is only
        an index that expires with the record it points to).
        """

        async def write() -> None:
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.set(self.id_key(vid), phone, px=ttl_ms + RETAIN_MS)
                for provider, message_id in messages:
                    pipe.set(self.message_key(provider, message_id), vid, px=ttl_ms + RETAIN_MS)
                await pipe.execute()

        await self._run(write)

    async def phone_for_id(self, vid: str) -> str | None:
        key = self.id_key(vid)
        value = await self._run(lambda: self.redis.get(key))
        return _s(value) if value is not None else None

    async def id_for_message(self, provider: str, message_id: str) -> str | None:
        key = self.message_key(provider, message_id)
        value = await self._run(lambda: self.redis.get(key))
        return _s(value) if value is not None else None

    # -- checking -----------------------------------------------------------------------------
    async def take_attempt(
        self, phone: str, *, expected_id: str, code_length: int, limit: int, window_ms: int, token: str
    ) -> Taken:
        keys = [self.phone_key(phone, "cur"), self.phone_key(phone, "fails")]
        args = [expected_id, code_length, limit, window_ms, token, self.phone_key(phone, "vf:")]
        res = await self._script("take_attempt", keys, args)
        kind = _s(res[0])
        if kind == "ok":
            return Taken(
                "ok",
                id=_s(res[1]),
                gen=_s(res[2]),
                attempts_left=int(res[3]),
                mode=_s(res[4]),
                provider=_s(res[5]),
                reference=_s(res[6]),
                code_hash=_s(res[7]),
            )
        if kind == "length":
            return Taken("length", code_length=int(res[1]))
        if kind == "budget":
            return Taken("budget", wait_ms=int(res[1]))
        return Taken("missing")

    async def finish_check(
        self, phone: str, vid: str, *, gen: str, outcome: str, token: str, attempts_left: int
    ) -> tuple[str, int]:
        """``attempts_left`` is what :meth:`take_attempt` left after charging this check."""
        keys = [self.phone_key(phone, "cur"), self.phone_key(phone, "fails"), self.record_key(phone, vid)]
        res = await self._script("finish_check", keys, [vid, gen, outcome, token, RETAIN_MS, attempts_left])
        return _s(res[0]), int(res[1]) if len(res) > 1 else 0

    async def cancel(self, phone: str, vid: str) -> bool:
        keys = [self.phone_key(phone, "cur"), self.record_key(phone, vid)]
        return bool(await self._script("cancel", keys, [vid, RETAIN_MS]))

    async def read(self, phone: str, vid: str) -> Verification | None:
        key = self.record_key(phone, vid)
        raw = await self._run(lambda: self.redis.hgetall(key))
        return _verification(raw) if raw else None

    async def apply_receipt(
        self, phone: str, vid: str, *, status: str, provider: str, rank: int, message_id: str
    ) -> bool:
        key = self.record_key(phone, vid)
        return bool(await self._script("receipt", [key], [status, provider, rank, message_id]))

    # -- idempotency --------------------------------------------------------------------------
    async def idempotency_begin(self, phone: str, digest: str, fingerprint: str, ttl_ms: int) -> tuple[str, str]:
        res = await self._script("idem_begin", [self.phone_key(phone, f"idem:{digest}")], [fingerprint, ttl_ms])
        return _s(res[0]), _s(res[1]) if len(res) > 1 else ""

    async def idempotency_commit(self, phone: str, digest: str, document: bytes, ttl_ms: int) -> None:
        key = self.phone_key(phone, f"idem:{digest}")
        await self._run(lambda: self.redis.set(key, document, px=ttl_ms))

    async def idempotency_abort(self, phone: str, digest: str, fingerprint: str) -> None:
        await self._script("idem_abort", [self.phone_key(phone, f"idem:{digest}")], [fingerprint])

    # -- live settings ------------------------------------------------------------------------
    async def load_settings(self) -> bytes | None:
        key = self.settings_key
        value = await self._run(lambda: self.redis.get(key))
        return value if isinstance(value, bytes) or value is None else str(value).encode()

    async def swap_settings(self, expected_version: int, document: bytes, audit: Sequence[bytes]) -> bool:
        keys = [self.settings_key, self.audit_key]
        return bool(await self._script("settings_cas", keys, [expected_version, document, *audit]))

    async def audit_log(self, limit: int) -> list[bytes]:
        key = self.audit_key
        values = await self._run(lambda: self.redis.lrange(key, 0, limit - 1))
        return [v if isinstance(v, bytes) else str(v).encode() for v in values]
