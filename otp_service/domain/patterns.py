"""Whole-string patterns for ``msgspec.Meta``, read alike by Python and by ECMA-262 (the OpenAPI side).

msgspec matches a ``pattern`` with ``re.search``, and Python's ``$`` also matches before a final
newline: ``^[0-9]{4,10}$`` accepted ``"123456\\n"`` (a test-number code no one could ever type, a
locale key no request would name). ``\\Z`` would fix Python but is not ECMA-262, the regex dialect
of JSON Schema and of the OpenAPI document's readers (schemathesis, client generators). So the
pattern keeps ``^...$`` and adds ``(?!\\n)``: in Python it refuses the one place ``$`` matches before
a newline; in ECMA-262, where ``$`` (without the ``m`` flag) matches only at the end, it is always
true. Both dialects read the same syntax and accept the same strings.
"""

from __future__ import annotations

__all__ = ("whole",)


def whole(body: str) -> str:
    """A pattern that matches when ``body`` matches the whole string, and nothing more."""
    return rf"^{body}$(?!\n)"
