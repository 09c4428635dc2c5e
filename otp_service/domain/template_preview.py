"""What a message template would look like on a phone, before an admin saves it.

The text is rendered exactly as a send renders it (``messages.render``: placeholders, the WebOTP
line when configured) with a sample code of the live length, and checked by the same rules a
settings change is checked by (``policy.apply_patch``), so the preview's error is the save's error.
The sample code is a fixed run of digits, never a code anybody was sent.
"""

from __future__ import annotations

import msgspec

from providers.text import Encoding

from .errors import ValidationFailed
from .live import LiveSettingsSource
from .messages import render
from .policy import SettingsPatch, apply_patch

__all__ = ("Preview", "TemplatePreview", "sample_code")


class Preview(msgspec.Struct, frozen=True, kw_only=True):
    text: str
    encoding: Encoding | None
    segments: int
    characters: int
    error: str | None = None


def sample_code(length: int) -> str:
    return ("1234567890" * 2)[:length]


class TemplatePreview:
    def __init__(self, live: LiveSettingsSource, *, webotp_host: str | None) -> None:
        self._live = live
        self._webotp_host = webotp_host

    async def preview(self, locale: str, text: str) -> Preview:
        current = await self._live.get()
        try:
            patch = msgspec.convert({"templates": {**current.templates, locale: text}}, SettingsPatch)
            settings, _ = apply_patch(current, patch, self._live.ctx)
        except msgspec.ValidationError as exc:
            return Preview(text="", encoding=None, segments=0, characters=0, error=_plain(str(exc)))
        except ValidationFailed as exc:
            error = exc.errors[0]["message"] if exc.errors and "message" in exc.errors[0] else exc.detail
            return Preview(text="", encoding=None, segments=0, characters=0, error=error)
        message = render(
            settings, sample_code(settings.code_length), locale=locale, app_hash=None, webotp_host=self._webotp_host
        )
        return Preview(
            text=message.text, encoding=message.encoding, segments=message.segments, characters=len(message.text)
        )


def _plain(message: str) -> str:
    """msgspec's message without its JSON path (the page shows the field already)."""
    return message.split(" - at `", 1)[0]
