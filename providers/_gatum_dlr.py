"""Gatum's REST delivery receipts (see :mod:`providers.gatum` for where each fact comes from)."""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from . import _http
from .base import DeliveryStatus, DeliveryUpdate, ReceiptBatch

__all__ = ("dlr_update", "parse_receipts")


class _Dlr(msgspec.Struct):
    # text_sms is deliberately not declared: it holds the code and must never be decoded.
    id_state: int | str
    state: str
    num_parts: int | str | None = None
    part_no: int | str | None = None


_DLRS = msgspec.json.Decoder(list[_Dlr])

_STATES: dict[str, DeliveryStatus] = {
    "DELIVRD": DeliveryStatus.DELIVERED,
    "DELIVERD": DeliveryStatus.DELIVERED,  # spelling seen in the PHP README
    "DELIVERED": DeliveryStatus.DELIVERED,
    "UNDELIV": DeliveryStatus.UNDELIVERED,
    "UNDELIVERED": DeliveryStatus.UNDELIVERED,
    "EXPIRED": DeliveryStatus.UNDELIVERED,
    "REJECTD": DeliveryStatus.FAILED,
    "REJECTED": DeliveryStatus.FAILED,
    "ACCEPTD": DeliveryStatus.SENT,
    "ACCEPTED": DeliveryStatus.SENT,
    "ENROUTE": DeliveryStatus.SENT,
}


def parse_receipts(body: bytes, headers: Mapping[str, str]) -> ReceiptBatch:
    """Gatum's REST DLR push: a JSON array, acknowledged by echoing the ``id_state`` values as strings."""
    dlrs = _http.decode_receipt(_DLRS, body, "gatum: not a DLR array")
    updates: list[DeliveryUpdate] = []
    ack: list[str] = []
    for dlr in dlrs:
        message_id = str(dlr.id_state)
        ack.append(message_id)
        state = dlr.state.strip().upper()
        status = _STATES.get(state, DeliveryStatus.UNKNOWN)
        if status is DeliveryStatus.DELIVERED and not _last_part(dlr):
            status = DeliveryStatus.SENT  # this part arrived; the message is whole only with the last one
        updates.append(
            DeliveryUpdate(
                status=status,
                message_id=message_id,
                vendor_status=state[:32] or None,
            )
        )
    return ReceiptBatch(updates=updates, response=ack)


def _last_part(dlr: _Dlr) -> bool:
    try:
        return dlr.part_no is None or dlr.num_parts is None or int(dlr.part_no) >= int(dlr.num_parts)
    except ValueError:
        return True  # an unreadable part number: judge the DLR by its state alone


def dlr_update(state: str, message_id: str) -> DeliveryUpdate:
    """A state word as Gatum writes it (DLR or ``sms-full-data``), for ``message_id``."""
    word = state.strip().upper()
    return DeliveryUpdate(
        status=_STATES.get(word, DeliveryStatus.UNKNOWN), message_id=message_id, vendor_status=word[:32] or None
    )
