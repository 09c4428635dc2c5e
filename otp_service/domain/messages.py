"""Renders the SMS text for a code we generated.

The platform hints are appended after the template so an admin cannot break them: the WebOTP / iOS
origin-bound line (``@host #code``) lets browsers and iOS fill the code in, and the Android SMS
Retriever hash must be the very end of the message. When both are present the hash comes last
(the Android app asked for it explicitly in this request).
"""

from __future__ import annotations

import math

from providers.text import Encoding, encoding_of, segment_count

from .policy import LiveSettings

__all__ = ("RenderedMessage", "pick_template", "render")


class RenderedMessage:
    __slots__ = ("encoding", "segments", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.encoding: Encoding = encoding_of(text)
        self.segments = segment_count(text)


def pick_template(templates: dict[str, str], locale: str | None) -> str:
    """Exact tag, then its primary language (``es-MX`` -> ``es``), then ``en``."""
    if locale:
        if locale in templates:
            return templates[locale]
        lowered = {k.lower(): v for k, v in templates.items()}
        if locale.lower() in lowered:
            return lowered[locale.lower()]
        primary = locale.split("-", 1)[0].lower()
        if primary in lowered:
            return lowered[primary]
    return templates["en"]


def render(
    settings: LiveSettings,
    code: str,
    *,
    locale: str | None,
    app_hash: str | None,
    webotp_host: str | None,
) -> RenderedMessage:
    template = pick_template(settings.templates, locale)
    minutes = max(1, math.ceil(settings.ttl_seconds / 60))
    text = template.format(code=code, brand=settings.brand, minutes=minutes)
    if webotp_host:
        text = f"{text}\n\n@{webotp_host} #{code}"
    if app_hash:
        text = f"{text}\n\n{app_hash}" if not webotp_host else f"{text}\n{app_hash}"
    return RenderedMessage(text)
