"""The Redis plumbing shared by every store: key naming, the Lua scripts, and the deadline on each call.

Keys are hash-tagged so each script touches exactly one Redis Cluster slot:

* per phone number ``otp:{+34600100200}:...``: each app's live pointer (``cur:<app>``: a send from
  another app to the same number makes that app's own verification), each verification record
  (``vf:<id>``), the per-number send window, the failed-check window, the resend cooldown, the
  in-flight send lock, idempotency entries and one ``tk:<token>`` marker per recent charge. Scripts
  that reach a record whose id they only learn inside the script build its key from the same tag, so
  they still stay in one slot.
* ``otp:{vf_...}:to`` maps an id to its number; ``otp:{msg:<provider>:<id>}`` maps a vendor message
  id to ours (for delivery receipts); ``otp:{client:<name>}:sends`` and ``otp:{ip:<addr>}:sends`` are
  the per-client and per-IP windows (with their own ``tk:<token>`` markers); ``otp:{settings}:*`` holds
  the live settings, each app's overrides (``app:<name>``) and their audit log; ``otp:{ready}`` is
  only read, by the readiness probe; ``otp:{fallback}:due`` holds WhatsApp receipt deadlines.
  ``otp:{session:<sha256>}`` is an admin console session and ``otp:{signin}:*`` its sign-in windows.
* ``otp:{fraud}:*`` holds every send budget's counter, their index and the budget charges' token
  records (``budgets.py``), and the conversion guard's bucketed counts per prefix and country, its
  holds and indexes (``conversion.py``). One slot for both: one script (``fraud_admit``) charges every
  budget of a send and has the guard judge it, all or nothing.
* ``otp:{events}:*`` holds the outbound events (``event_store.py``): the stream, the delivery queues,
  the expiry deadlines, the endpoints (and which apps have any), the dead letters.

Charges are token-based and can be given back safely at any time. Every request draws a random token;
the script that charges a window slot or an attempt records it, and the script that gives it back
(``abort_send``, ``refund``, ``release_check``) removes what that token took and leaves a ``released``
marker (``tk:<token>``, ``TOKEN_TTL_MS``) that makes a charge arriving after it a no-op. A request
that timed out on a stalled Redis answers 503 at once, while its script may still run when Redis
wakes up; the service gives the charge back in the background (``releases.py``), in either order.

Time comes from Redis (``TIME`` inside the scripts), so replicas with skewed clocks still agree on
windows, cooldowns and expiry. Everything carries a TTL; nothing needs a cleanup job (but the outbound
events' keys: they live until delivered or dead-lettered, ``event_store.py``).

The scripts are the ``.lua`` files in ``lua/``, one per script, each opening with a comment that names
its KEYS, ARGV and what it returns. Redis Lua has no ``require``, so what several scripts share (the
``now`` from ``TIME``, the sliding-window ``reserve`` function, the budgets' charge and the guard's
verdict) lives in ``lua/shared/<name>.lua``
and a script asks for it with a header line ``-- uses: now, window``: the loader puts those fragments,
in that order, in front of the script's text. Each script is registered once per client and held as
an attribute of :class:`Scripts`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
from collections.abc import Awaitable, Callable, Sequence
from importlib import resources
from typing import Any, TypeVar

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.commands.core import AsyncScript
from redis.exceptions import RedisClusterException, RedisError

from .errors import StoreUnavailable

__all__ = ("TOKEN_TTL_MS", "AnyRedis", "Keys", "RedisStore", "Scripts", "as_text", "lua_source")

AnyRedis = Redis | RedisCluster
T = TypeVar("T")

# How long a charge's token marker lives: longer than a request can take and than the background
# release retries for (``releases.py``), so a late charge always finds its release.
TOKEN_TTL_MS = 15 * 60 * 1000

_LUA = resources.files("otp_service.domain").joinpath("lua")
_USES = re.compile(r"^--\s*uses:(.*)$", re.MULTILINE)


def lua_source(name: str) -> str:
    """The text of ``lua/<name>.lua`` with the shared fragments its ``-- uses:`` line names in front."""
    source = _LUA.joinpath(f"{name}.lua").read_text(encoding="utf-8")
    uses = _USES.search(source)
    fragments = [part.strip() for part in uses.group(1).split(",")] if uses else []
    shared = (_LUA.joinpath("shared", f"{fragment}.lua").read_text(encoding="utf-8") for fragment in fragments)
    return "".join(shared) + source


@dataclasses.dataclass(frozen=True, slots=True)
class Scripts:
    """One registered script per file in ``lua/`` (the attribute's name is the file's)."""

    begin_send: AsyncScript
    reserve: AsyncScript
    abort_send: AsyncScript
    refund: AsyncScript
    commit_send: AsyncScript
    take_attempt: AsyncScript
    finish_check: AsyncScript
    release_check: AsyncScript
    cancel: AsyncScript
    receipt: AsyncScript
    idem_begin: AsyncScript
    idem_abort: AsyncScript
    settings_cas: AsyncScript
    signin_attempt: AsyncScript
    fraud_admit: AsyncScript
    budget_charge: AsyncScript
    budget_refund: AsyncScript
    budget_usage: AsyncScript
    guard_count: AsyncScript
    guard_release: AsyncScript
    guard_stats: AsyncScript
    guard_holds: AsyncScript
    event_publish: AsyncScript
    event_sweep: AsyncScript
    event_fanout: AsyncScript
    event_lease: AsyncScript
    event_settle: AsyncScript
    event_replay: AsyncScript
    event_presence: AsyncScript
    endpoint_add: AsyncScript
    endpoint_remove: AsyncScript
    fallback_arm: AsyncScript
    fallback_sweep: AsyncScript
    fallback_claim: AsyncScript
    fallback_commit: AsyncScript

    @classmethod
    def register(cls, redis: AnyRedis) -> Scripts:
        return cls(**{field.name: redis.register_script(lua_source(field.name)) for field in dataclasses.fields(cls)})


def as_text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


@dataclasses.dataclass(frozen=True, slots=True)
class Keys:
    """Every key name of the service (the layout is in this module's docstring)."""

    prefix: str = "otp"

    def phone(self, phone: str, part: str) -> str:
        return f"{self.prefix}:{{{phone}}}:{part}"

    def current(self, phone: str, app: str = "") -> str:
        return self.phone(phone, f"cur:{app}" if app else "cur")

    def sends(self, phone: str) -> str:
        return self.phone(phone, "sends")

    def fails(self, phone: str) -> str:
        return self.phone(phone, "fails")

    def source_fails(self, phone: str, source: str) -> str:
        """Failed checks on a number by one end user (``check_sources.py``)."""
        return self.phone(phone, f"fails:{source}")

    def cooldown(self, phone: str) -> str:
        return self.phone(phone, "cooldown")

    def sending(self, phone: str) -> str:
        return self.phone(phone, "sending")

    def token(self, phone: str, token: str) -> str:
        return self.phone(phone, f"tk:{token}")

    def record(self, phone: str, vid: str) -> str:
        return self.phone(phone, f"vf:{vid}")

    def idempotency(self, phone: str, digest: str) -> str:
        return self.phone(phone, f"idem:{digest}")

    def id(self, vid: str) -> str:
        return f"{self.prefix}:{{{vid}}}:to"

    def refresh(self, vid: str) -> str:
        """Claims a delivery-status refresh of a verification for a while (``delivery_refresh.py``)."""
        return f"{self.prefix}:{{{vid}}}:refresh"

    def message(self, provider: str, message_id: str) -> str:
        return f"{self.prefix}:{{msg:{provider}:{message_id}}}"

    def window(self, kind: str, ident: str) -> str:
        return f"{self.prefix}:{{{kind}:{ident}}}:sends"

    def window_token(self, kind: str, ident: str, token: str) -> str:
        return f"{self.prefix}:{{{kind}:{ident}}}:tk:{token}"

    @property
    def ready(self) -> str:
        return f"{self.prefix}:{{ready}}"

    @property
    def settings(self) -> str:
        return f"{self.prefix}:{{settings}}:live"

    @property
    def audit(self) -> str:
        return f"{self.prefix}:{{settings}}:audit"

    @property
    def fallback_due(self) -> str:
        """WhatsApp codes' receipt deadlines, swept by every replica (``fallback.py``)."""
        return f"{self.prefix}:{{fallback}}:due"

    def app_settings(self, app: str) -> str:
        """An app's overrides of the live settings (on the settings slot, next to the audit log)."""
        return f"{self.prefix}:{{settings}}:app:{app}"

    def admin_session(self, digest: str) -> str:
        """A console session, by the SHA-256 of its cookie value (``admin_sessions.py``)."""
        return f"{self.prefix}:{{session:{digest}}}"

    def signin_window(self, ip: str | None) -> str:
        """Console sign-in attempts from one address (or from all, ``None``), on one slot together."""
        return f"{self.prefix}:{{signin}}:" + (f"ip:{ip}" if ip is not None else "all")

    # -- fraud guard: the budgets and the conversion guard, together on the ``{fraud}`` slot -----------
    def budget(self, name: str) -> str:
        """One budget's counter (``budgets.py``); ``name`` is the budget's name."""
        return f"{self.prefix}:{{fraud}}:b:{name}"

    def budget_token(self, token: str) -> str:
        return f"{self.prefix}:{{fraud}}:tk:{token}"

    @property
    def budget_index(self) -> str:
        return f"{self.prefix}:{{fraud}}:budgets"

    def guard_base(self, kind: str, member: str = "") -> str:
        """The base of a prefix's (``p``) or country's (``c``) bucket keys; the script appends the bucket."""
        return f"{self.prefix}:{{fraud}}:{kind}:{member}"

    def guard_hold(self, prefix: str) -> str:
        return f"{self.prefix}:{{fraud}}:hold:{prefix}"

    def guard_index(self, kind: str) -> str:
        """Prefixes (``p``), countries (``c``) seen lately, or prefixes held (``held``)."""
        return f"{self.prefix}:{{fraud}}:index:{kind}"

    def events(self, part: str = "") -> str:
        """The outbound events' keys (``event_store.py``), all on one slot: the scripts that move an
        event from the stream to its queues, and from a deadline to the stream, touch several."""
        return f"{self.prefix}:{{events}}:{part}"


class RedisStore:
    """One Redis client with its key names and scripts; every call goes through :meth:`run`."""

    def __init__(self, redis: AnyRedis, *, prefix: str = "otp", deadline_s: float | None = None) -> None:
        self.redis = redis
        self.keys = Keys(prefix)
        self.scripts = Scripts.register(redis)
        # A bound on each call as a whole. Socket timeouts bound each network wait, but one call can
        # make several (the cluster client re-reads the topology from every node after a timeout, and
        # requests queue behind its lock while it does): without this, a stalled Redis stacks them.
        self.deadline_s = deadline_s
        # redis-py's single-server client, cancelled at the deadline, drops its connection at once
        # (disconnect without waiting), so its calls run inline: a task and asyncio.wait per call
        # cost more than the call itself (issue 14). Any other client (the cluster client) runs each
        # call detached, see _within_deadline.
        self._detach = not isinstance(redis, Redis)
        self._abandoned: set[asyncio.Future[Any]] = set()  # timed-out calls still cleaning up

    async def run(self, call: Callable[[], Awaitable[T]]) -> T:
        try:
            if self.deadline_s is None:
                return await call()
            if not self._detach:
                async with asyncio.timeout(self.deadline_s):
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

    async def script(self, script: AsyncScript, keys: Sequence[str], args: Sequence[Any]) -> Any:
        return await self.run(lambda: script(keys=list(keys), args=list(args)))

    async def ping(self) -> bool:
        """True when Redis serves a keyed command (what readiness means); raises
        :class:`StoreUnavailable` otherwise. A bare PING is not enough: a Redis Cluster in
        ``cluster_state:fail`` answers PING on every live node and refuses every key."""
        key = self.keys.ready
        await self.run(lambda: self.redis.get(key))
        return True
