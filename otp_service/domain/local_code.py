"""Our own code for a plain SMS sender, made at most once per request.

The service builds a :class:`LocalDraft` before any vendor is called and hands it to the dispatcher
as data. Nothing is generated until a plain sender is actually tried (a request served by a
verification vendor never makes, hashes or renders a code of ours), and once made, the same code
goes to every sender tried: never two different live codes for one request. The argon2 hash starts
the moment the code exists, so it runs in its thread while the vendor works.
"""

from __future__ import annotations

import asyncio

from .codes import CodeHasher, generate_code
from .messages import render
from .policy import LiveSettings

__all__ = ("LocalDraft", "LocalMessage")


class LocalMessage:
    """Our own code, its pending hash and the rendered text."""

    __slots__ = ("code", "code_hash", "encoding", "segments", "text")

    def __init__(self, code: str, text: str, code_hash: asyncio.Future[str], segments: int, encoding: str) -> None:
        self.code = code
        self.text = text
        self.code_hash = code_hash
        self.segments = segments
        self.encoding = encoding


class LocalDraft:
    """What it takes to make one request's code and text; ``code`` fixes it (test numbers)."""

    __slots__ = ("_app_hash", "_code", "_hasher", "_live", "_locale", "_made", "_verification_id", "_webotp_host")

    def __init__(
        self,
        verification_id: str,
        live: LiveSettings,
        hasher: CodeHasher,
        *,
        locale: str | None,
        app_hash: str | None,
        webotp_host: str | None,
        code: str | None = None,
    ) -> None:
        self._verification_id = verification_id
        self._live = live
        self._hasher = hasher
        self._locale = locale
        self._app_hash = app_hash
        self._webotp_host = webotp_host
        self._code = code
        self._made: LocalMessage | None = None

    @property
    def made(self) -> LocalMessage | None:
        """The message if one was made, else None (nothing of ours was sent)."""
        return self._made

    def message(self) -> LocalMessage:
        """The request's message, made on the first call and the same one on every later call."""
        if self._made is None:
            code = self._code or generate_code(self._live.code_length)
            pending = asyncio.ensure_future(self._hasher.hash(self._verification_id, code))
            try:
                rendered = render(
                    self._live, code, locale=self._locale, app_hash=self._app_hash, webotp_host=self._webotp_host
                )
            except BaseException:
                pending.cancel()
                raise
            self._made = LocalMessage(code, rendered.text, pending, rendered.segments, rendered.encoding.value)
        return self._made

    def cancel(self) -> None:
        """Stop the hash of a code that will never be stored (the request failed or was cancelled)."""
        if self._made is not None:
            self._made.code_hash.cancel()
