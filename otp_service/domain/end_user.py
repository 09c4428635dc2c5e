"""The end user a backend calls on behalf of: which address the per-IP send limit counts.

An app's backend calls for all its users from one address, so counting the caller would make the
31st login in ten minutes fail for everyone. The backend passes ``end_user_ip`` instead. A key
shipped inside a client (marked ``:public``) calls from the user's own device, so its caller address
is the user's. A backend key that passes no ``end_user_ip`` is not limited per IP at all: its
address says nothing about who is asking, and it stays bound by the per-app and per-number limits.

IPv6 addresses are counted per /64 (what one subscriber line usually gets, and what costs an
attacker one address to change), and an IPv4 address written as IPv6 (``::ffff:a.b.c.d``) counts as
that IPv4 address.
"""

from __future__ import annotations

import ipaddress

from .errors import ValidationFailed

__all__ = ("check_source", "limit_address", "limited_ip", "parse_end_user_ip")


def limit_address(address: str) -> str:
    """The key the per-IP window counts for an address (text that is no address is kept as it is)."""
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


def parse_end_user_ip(text: str | None) -> str | None:
    """The end user's address as given, checked (IPv4 or IPv6, no zone, no prefix)."""
    if text is None:
        return None
    try:
        ip = ipaddress.ip_address(text)
        if isinstance(ip, ipaddress.IPv6Address) and ip.scope_id is not None:
            raise ValueError("a zone means nothing outside the user's own network")
        return str(ip)
    except ValueError:
        message = "end_user_ip: must be an IPv4 or IPv6 address"
        raise ValidationFailed(message, [{"field": "end_user_ip", "message": "not an IP address"}]) from None


def limited_ip(end_user_ip: str | None, caller_ip: str, *, public_key: bool) -> str | None:
    """What the per-IP limit counts for a request, or ``None`` for no per-IP limit (see the module)."""
    if end_user_ip is not None:
        return limit_address(end_user_ip)
    return limit_address(caller_ip) if public_key else None


def check_source(end_user_ip: str | None, caller_ip: str, *, public_key: bool, app: str) -> str:
    """Who is checking, for the failed-check budgets (``check_sources.py``): the end user's address
    when known, else the calling app as a whole (a backend that passes no ``end_user_ip`` is one
    source for all its users, so a stranger behind it can use up that source's budget)."""
    return limited_ip(end_user_ip, caller_ip, public_key=public_key) or f"app:{app}"
