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
        # Each message twice, for a top-level object and inside a template (`within`): one
        # sentence each, so that each is translated whole (the QRIS errors keep template+params).
        if len(header) < 4:
            if within:
                raise QrisFormatError(
                    "tag %(parent)s: %(count)s stray character(s) at the end, after the last "
                    "data object",
                    blame,
                    parent=within,
                    count=len(header),
                )
            raise QrisFormatError(
                "%(count)s stray character(s) at the end, after the last data object",
                blame,
                count=len(header),
            )
        tag, length_text = header[:2], header[2:]
        if not _digits(tag):
            found = {"found": repr(tag), "position": position + 1}
            if within:
                raise QrisFormatError(
                    "tag %(parent)s: a tag must be two digits, found %(found)s at character "
                    "%(position)s",
                    blame,
                    parent=within,
                    **found,
                )
            raise QrisFormatError(
                "a tag must be two digits, found %(found)s at character %(position)s",
                blame,
                **found,
            )
        if not _digits(length_text):
            if within:
                raise QrisFormatError(
                    "tag %(parent)s: sub-tag %(id)s: the length must be two digits, found "
                    "%(found)s",
                    blame,
                    parent=within,
                    id=tag,
                    found=repr(length_text),
                )
            raise QrisFormatError(
                "tag %(id)s: the length must be two digits, found %(found)s",
                blame,
                id=tag,
                found=repr(length_text),
            )
        length = int(length_text)
        if length == 0:
            if within:
                raise QrisFormatError(
                    "tag %(parent)s: sub-tag %(id)s has an empty value",
                    blame,
                    parent=within,
                    id=tag,
                )
            raise QrisFormatError("tag %(id)s has an empty value", blame, id=tag)
        start = position + 4
        if start + length > len(text):
            counts = {"length": length, "remaining": len(text) - start}
            if within:
                raise QrisFormatError(
                    "tag %(parent)s: sub-tag %(id)s says %(length)s characters but only "
                    "%(remaining)s remain",
                    blame,
                    parent=within,
                    id=tag,
                    **counts,
                )
            raise QrisFormatError(
                "tag %(id)s says %(length)s characters but only %(remaining)s remain",
                blame,
                id=tag,
                **counts,
            )
        if tag in seen:
            if within:
                raise QrisFormatError(
                    "tag %(parent)s: sub-tag %(id)s appears twice", blame, parent=within, id=tag
                )
            raise QrisFormatError("tag %(id)s appears twice", blame, id=tag)
        seen.add(tag)
        objects.append(DataObject(tag, text[start : start + length]))
        position = start + length
    return objects


def encode(objects: Iterable[DataObject]) -> str:
    return "".join(each.encoded() for each in objects)


def _digits(text: str) -> bool:
    # str.isdigit() is true of "²" and Arabic-Indic digits; a tag is two ASCII digits.
    return len(text) == 2 and all("0" <= char <= "9" for char in text)
