"""The QRIS module's one error family: every way a code can be wrong is one of these, and each
names the tag at fault when one tag is (`tag`, a two-digit string, or None for the code as a
whole). Nothing else leaves the module: no IndexError, no ValueError.

Like a service's refusal (app/errors.py), an error keeps its English `template`, with
%(name)s placeholders, and the `params` that fill it in: `reason` is the filled-in English,
and app/services/qris passes template and params on, so the portal can translate the reason.
The messages are extracted by the classes' names (scripts/translations.sh)."""

from __future__ import annotations


class QrisError(Exception):
    """The text is not a QRIS code Lunas can read or build on."""

    def __init__(self, reason: str, tag: str | None = None, **params: object) -> None:
        self.template = reason
        self.params = params
        self.reason = reason % params if params else reason
        super().__init__(self.reason)
        self.tag = tag


class QrisFormatError(QrisError):
    """The TLV structure is broken: a tag or length that is not two digits, a value that runs
    past the end, an empty value, a tag given twice, a character no QR payload carries."""


class QrisChecksumError(QrisError):
    """Tag 63 is missing, malformed, or disagrees with the CRC of everything before it."""

    def __init__(self, reason: str, **params: object) -> None:
        super().__init__(reason, "63", **params)


class QrisFieldError(QrisError):
    """The structure holds, but a field breaks its rule: a required tag missing, a currency
    that is not three digits, an amount that is not a number."""
