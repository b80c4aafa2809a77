"""The one rule for NUL characters. No legitimate input carries one; PostgreSQL text cannot
hold one (a query with it fails deep inside, as a 500), and C-based parsers read it as the end
of a string. So every boundary refuses it: requests (app/input_guard.py), API fields
(app/api/schemas.py), credentials and Midtrans notification fields (which are stored first,
with any NUL kept as U+FFFD, then refused)."""

from __future__ import annotations

NUL = "\x00"
NUL_MESSAGE = "must not contain a NUL character"


def has_nul(*values: object) -> bool:
    return any(isinstance(value, str) and NUL in value for value in values)


def storable(text: str) -> str:
    """The text with each NUL as U+FFFD, so that it can be stored as it came otherwise."""
    return text.replace(NUL, "\ufffd")
