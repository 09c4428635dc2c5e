"""Which channel carries a code (SMS or WhatsApp), through which route, and WhatsApp's first fallback.

A send asks for ``sms`` (the default) or ``whatsapp``. Either way the number's route (``routes.py``)
gives the provider order and the sender ids; only providers that declare the channel
(``channels`` on the adapter; Message Central VerifyNow and the development console carry WhatsApp)
are tried for it, the others are skipped as ``channel_unsupported``.

WhatsApp falls back to SMS, within the same verification (same id, attempts and limits counted once):

* **refused**: no provider on the route could take the WhatsApp message (a refusal, no WhatsApp
  account, an unreachable vendor). The same request then sends an SMS through the same route, and
  answers ``channel: "sms"`` with ``fallback_reason: "refused"``. Nothing of the WhatsApp attempt can
  be checked: it made no code anyone received.
* **undelivered** / **no_receipt**: decided later, by a receipt or a deadline (``fallback.py``).

WhatsApp text, where the code is ours (a local sender), comes from ``whatsapp_templates`` when set,
else from ``templates``; a vendor that makes its own code (VerifyNow) uses its own WhatsApp template.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import msgspec
import structlog

from providers import Channel, SendOptions

from .dispatcher import Delivered, Dispatcher, MessageDraft
from .errors import ProviderUnavailableError
from .phone import Phone
from .policy import LiveSettings
from .routes import resolve

__all__ = ("REASONS", "deliver", "whatsapp_settings")

log = structlog.get_logger("otp.delivery")

REASONS = ("refused", "undelivered", "no_receipt")  # fallback_reason values, in the API too


class Draft(MessageDraft, Protocol):
    def cancel(self) -> None: ...


def whatsapp_settings(live: LiveSettings) -> LiveSettings:
    """The settings a WhatsApp text is rendered with: its own templates when there are any."""
    if not live.whatsapp_templates:
        return live
    return msgspec.structs.replace(live, templates=dict(live.whatsapp_templates))


async def deliver(
    dispatcher: Dispatcher,
    live: LiveSettings,
    phone: Phone,
    channel: Channel,
    *,
    reference: str,
    sms_draft: MessageDraft,
    make_draft: Callable[[LiveSettings], Draft],
    options: SendOptions,
) -> Delivered:
    """Send on ``channel`` through the number's route; a refused WhatsApp send becomes an SMS."""
    route = resolve(live.routes, live.providers, phone.e164, phone.region)

    async def send(draft: MessageDraft, on: Channel) -> Delivered:
        return await dispatcher.send(
            route.providers,
            phone.msisdn,
            reference=reference,
            code_length=live.code_length,
            local=draft,
            options=msgspec.structs.replace(options, channel=on),
            sender_ids=route.sender_ids,
        )

    if channel is not Channel.WHATSAPP:
        return await send(sms_draft, Channel.SMS)
    locale = {"locale": options.locale or ""}
    whatsapp_draft = make_draft(whatsapp_settings(live))
    try:
        delivered = await send(whatsapp_draft, Channel.WHATSAPP)
    except ProviderUnavailableError as refused:
        whatsapp_draft.cancel()
        log.info("whatsapp.fallback", reason="refused", tried=refused.tried)
        try:
            delivered = await send(sms_draft, Channel.SMS)
        except ProviderUnavailableError as failed:
            raise ProviderUnavailableError(str(failed), [*refused.tried, *failed.tried]) from failed
        delivered.extra |= {"requested_channel": "whatsapp", "fallback_reason": "refused", "fallback_state": "done"}
        delivered.extra |= locale
        return delivered
    except BaseException:
        whatsapp_draft.cancel()
        raise
    delivered.channel = Channel.WHATSAPP.value
    delivered.extra |= {"requested_channel": "whatsapp", **locale}
    return delivered
