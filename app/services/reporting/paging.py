"""The one keyset paginator. Every list is newest first on (created_at, id), never OFFSET, so
that a page costs one index range scan however deep it is (docs/PERFORMANCE.md).

One meaning for both directions, as in the list a person reads: `after` a cursor is the page
that follows it (older rows), `before` a cursor is the page that precedes it (newer rows). A
page's `older` cursor is what to pass as `after` for the next page, its `newer` cursor what to
pass as `before` for the previous one.

A cursor comes back in a URL, so it is untrusted: `read` refuses (InvalidCursorError, a 400
naming the parameter) anything that is not a cursor of the list, a time outside the span
Lunas can represent (app/clock.py) included; `decode` reads the same as "no cursor"."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, or_

from app.clock import is_representable
from app.errors import ValidationError
from app.extensions import db

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MAX_TOKEN_LENGTH = 200


class InvalidCursorError(ValidationError):
    """A page link's cursor that this list never handed out (or can no longer use)."""

    def __init__(self, field: str, **params: object) -> None:
        super().__init__(
            "%(name)s is not a valid page link of this list", field=field, name=field, **params
        )


@dataclass(frozen=True)
class Cursor:
    """A position in a list: the (created_at, id) of the row next to the page."""

    created_at: datetime
    id: Any  # an int or a string id, as the list's rows have

    def encode(self) -> str:
        micros = (self.created_at - _EPOCH) // timedelta(microseconds=1)  # exact, no float
        return base64.urlsafe_b64encode(f"{micros}.{self.id}".encode()).decode().rstrip("=")


@dataclass(frozen=True)
class Page:
    rows: list
    older: Cursor | None  # pass as `after` for the next page back in time
    newer: Cursor | None  # pass as `before` for the previous page


@dataclass(frozen=True)
class ApiList:
    """A page as the merchant API answers it: `{"data", "has_more", "next_cursor"}`."""

    data: list[dict[str, Any]]
    has_more: bool
    next_cursor: str | None

    @classmethod
    def of(cls, page: Page, data: list[dict[str, Any]]) -> ApiList:
        cursor = page.older.encode() if page.older is not None else None
        return cls(data, cursor is not None, cursor)


@dataclass(frozen=True)
class Keyset:
    """How one list pages: its two key columns and how its ids read back from a cursor."""

    created_at: Any
    id: Any
    parse_id: Callable[[str], Any]  # the id from its text, or None when it is not one

    def read(self, token: str | None, field: str) -> Cursor | None:
        """The cursor in a request's `field`; None when none is given. InvalidCursorError
        for anything else that is not a cursor of this list."""
        if not token:
            return None
        cursor = self._parse(token)
        if cursor is None:
            raise InvalidCursorError(field)
        return cursor

    def decode(self, token: str | None) -> Cursor | None:
        """None for anything that is not a cursor of this list (read as no cursor at all)."""
        return self._parse(token) if token else None

    def _parse(self, token: str) -> Cursor | None:
        if len(token) > MAX_TOKEN_LENGTH:
            return None
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode("ascii")
            micros, _, row_id = raw.partition(".")
            parsed = self.parse_id(row_id)
            if not micros.isdigit() or parsed is None:
                return None
            created_at = _EPOCH + timedelta(microseconds=int(micros))
        except (ValueError, UnicodeDecodeError, binascii.Error, OverflowError):
            return None
        # A time no row can have (year 9999, say) is no position in the list, and the next
        # step of arithmetic on it (to WIB, a day on) would overflow.
        return Cursor(created_at, parsed) if is_representable(created_at) else None

    def page(
        self,
        query: Select,
        limit: int,
        after: Cursor | None = None,
        before: Cursor | None = None,
        fetch: Callable[[Select], list] | None = None,
    ) -> Page:
        """One page of `query` (already filtered), `limit` rows at most."""
        fetch = fetch or (lambda statement: list(db.session.execute(statement)))
        if before is not None and after is None:
            # Back toward the newest: the rows just newer than `before`, oldest first, turned.
            rows = fetch(self._beyond(query, before, older=False).limit(limit + 1))
            if len(rows) <= limit:
                return self.page(query, limit, fetch=fetch)  # that is the first page
            rows = rows[:limit][::-1]
            return Page(rows, self.cursor(rows[-1]), self.cursor(rows[0]))
        rows = fetch(self._beyond(query, after, older=True).limit(limit + 1))
        page = rows[:limit]
        older = self.cursor(page[-1]) if len(rows) > limit else None
        newer = self.cursor(page[0]) if after is not None and page else None
        return Page(page, older, newer)

    def cursor(self, row) -> Cursor:
        return Cursor(getattr(row, self.created_at.key), getattr(row, self.id.key))

    def _beyond(self, query: Select, cursor: Cursor | None, older: bool) -> Select:
        at, row_id = self.created_at, self.id
        if cursor is not None and older:
            # The plain bound on created_at makes the index range start at the cursor (in
            # both databases); the OR only settles ties on created_at by id.
            query = query.where(
                at <= cursor.created_at,
                or_(at < cursor.created_at, and_(at == cursor.created_at, row_id < cursor.id)),
            )
        elif cursor is not None:
            query = query.where(
                at >= cursor.created_at,
                or_(at > cursor.created_at, and_(at == cursor.created_at, row_id > cursor.id)),
            )
        order = (at.desc(), row_id.desc()) if older else (at.asc(), row_id.asc())
        return query.order_by(*order)
