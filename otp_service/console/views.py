"""How a console page is answered: its template with the navigation, the signed-in admin and the
CSRF input, and the helpers that make stored values safe to show (numbers masked, codes hidden)."""

from __future__ import annotations

import hashlib
from typing import Any

import msgspec
from litestar import Request
from litestar.response import Template

from ..domain.phone import mask

__all__ = ("NAV", "number_ref", "page", "shown")

NAV = [
    ("/admin/settings", "Settings"),
    ("/admin/apps", "Apps"),
    ("/admin/templates", "Templates"),
    ("/admin/test-numbers", "Test numbers"),
    ("/admin/providers", "Providers"),
    ("/admin/fraud", "Fraud"),
    ("/admin/events", "Events"),
    ("/admin/audit", "Audit log"),
]


def page(
    request: Request[Any, Any, Any],
    name: str,
    *,
    title: str,
    active: str = "",
    status: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> Template:
    admin = getattr(request.state, "console_admin", None)
    return Template(
        template_name=name,
        context={"title": title, "admin": admin, "nav": NAV, "active": active, **context},
        status_code=status,
        headers=headers,
    )


def number_ref(e164: str) -> str:
    """What a page's form sends back to name a test number without putting the number in the page."""
    return hashlib.sha256(e164.encode()).hexdigest()[:16]


def _safe(field: str, value: Any) -> Any:
    if field.endswith("test_numbers") and isinstance(value, dict):
        return {mask(str(number)): "•" * len(str(code)) for number, code in value.items()}
    return value


def shown(field: str, value: Any, *, limit: int = 300) -> str:
    """An audit value as compact JSON for a table cell: test numbers masked, their codes hidden."""
    if value is None:
        return "-"
    text = msgspec.json.encode(_safe(field, value)).decode()
    return text if len(text) <= limit else text[: limit - 1] + "…"
