"""The QRIS module's one error family: every way a code can be wrong is one of these, and each
names the tag at fault when one tag is (`tag`, a two-digit string, or None for the code as a
whole). Nothing else leaves the module: no IndexError, no ValueError."""

from __future__ import annotations


class QrisError(Exception):
    """The text is not a QRIS code Lunas can read or build on."""

    def __init__(self, reason: str, tag: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.tag = tag


class QrisFormatError(QrisError):
    """The TLV structure is broken: a tag or length that is not two digits, a value that runs
    past the end, an empty value, a tag given twice, a character no QR payload carries."""


class QrisChecksumError(QrisError):
    """Tag 63 is missing, malformed, or disagrees with the CRC of everything before it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason, "63")


class QrisFieldError(QrisError):
    """The structure holds, but a field breaks its rule: a required tag missing, a currency
    that is not three digits, an amount that is not a number."""
