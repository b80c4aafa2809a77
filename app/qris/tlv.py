"""EMVCo's data objects: `ID(2) LEN(2) VALUE`, the ID and the length two decimal digits each, the
length counted in characters. One pass over the text, so reading is linear in its length; a
template's value is read the same way, one level down."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from app.qris.errors import QrisFormatError


@dataclass(frozen=True)
class DataObject:
    tag: str
    value: str

    def encoded(self) -> str:
        return f"{self.tag}{len(self.value):02d}{self.value}"


def parse(text: str, within: str | None = None) -> list[DataObject]:
    """The data objects of `text`, in order. `within` is the template's tag when `text` is a
    template's value: errors then name the template, the tag a caller can point at."""
    objects: list[DataObject] = []
    seen: set[str] = set()
    position = 0
    while position < len(text):
        header = text[position : position + 4]
        blame = within or (header[:2] if _digits(header[:2]) else None)
        if len(header) < 4:
            raise QrisFormatError(
                f"{_where(within)}{len(header)} stray character(s) at the end, after the last "
                "data object",
                blame,
            )
        tag, length_text = header[:2], header[2:]
        if not _digits(tag):
            raise QrisFormatError(
                f"{_where(within)}a tag must be two digits, found {tag!r} at character "
                f"{position + 1}",
                blame,
            )
        label = f"sub-tag {tag}" if within else f"tag {tag}"
        if not _digits(length_text):
            raise QrisFormatError(
                f"{_where(within)}{label}: the length must be two digits, found {length_text!r}",
                blame,
            )
        length = int(length_text)
        if length == 0:
            raise QrisFormatError(f"{_where(within)}{label} has an empty value", blame)
        start = position + 4
        if start + length > len(text):
            raise QrisFormatError(
                f"{_where(within)}{label} says {length} characters but only "
                f"{len(text) - start} remain",
                blame,
            )
        if tag in seen:
            raise QrisFormatError(f"{_where(within)}{label} appears twice", blame)
        seen.add(tag)
        objects.append(DataObject(tag, text[start : start + length]))
        position = start + length
    return objects


def encode(objects: Iterable[DataObject]) -> str:
    return "".join(each.encoded() for each in objects)


def _digits(text: str) -> bool:
    # str.isdigit() is true of "²" and Arabic-Indic digits; a tag is two ASCII digits.
    return len(text) == 2 and all("0" <= char <= "9" for char in text)


def _where(within: str | None) -> str:
    return f"tag {within}: " if within else ""
