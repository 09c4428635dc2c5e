"""Admin console sessions, kept in Redis so that signing out (or an expiry) ends them on every replica.

The browser holds only a random session id (256 bits) in its cookie; Redis holds the SHA-256 of that
id as the key, so a copy of Redis (a dump, a replica) gives nobody a session to replay. A session
names its admin and ends after ``idle_s`` without a request or ``max_age_s`` after sign-in,
whichever comes first. Removing an admin from ``OTP_ADMIN_TOKENS`` ends their sessions at once
(the console checks the name on every request).
"""

from __future__ import annotations

import hashlib
import secrets
import time

import msgspec

from .redis_store import RedisStore

__all__ = ("AdminSessions",)


class _Session(msgspec.Struct, frozen=True):
    admin: str
    started_ms: int


def _key_part(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


class AdminSessions:
    def __init__(self, store: RedisStore, *, idle_s: int = 30 * 60, max_age_s: int = 12 * 3600) -> None:
        self._store = store
        self.idle_s = idle_s
        self.max_age_s = max_age_s

    async def start(self, admin: str) -> str:
        """A new session for ``admin``; returns the id for the cookie (never stored as such)."""
        session_id = secrets.token_urlsafe(32)
        key = self._store.keys.admin_session(_key_part(session_id))
        value = msgspec.json.encode(_Session(admin, int(time.time() * 1000)))
        await self._store.run(lambda: self._store.redis.set(key, value, ex=self.idle_s))
        return session_id

    async def admin_of(self, session_id: str | None) -> str | None:
        """The admin of a live session (its idle time starts again), or None."""
        if not session_id or len(session_id) > 128:
            return None
        key = self._store.keys.admin_session(_key_part(session_id))
        raw = await self._store.run(lambda: self._store.redis.getex(key, ex=self.idle_s))
        if raw is None:
            return None
        try:
            session = msgspec.json.decode(raw, type=_Session)
        except msgspec.DecodeError:
            return None
        if time.time() * 1000 - session.started_ms > self.max_age_s * 1000:
            await self.end(session_id)
            return None
        return session.admin

    async def end(self, session_id: str | None) -> None:
        if not session_id or len(session_id) > 128:
            return
        key = self._store.keys.admin_session(_key_part(session_id))
        await self._store.run(lambda: self._store.redis.delete(key))
