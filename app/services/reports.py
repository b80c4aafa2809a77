"""Queries behind the portal's payments list, payment detail and overview (read-only, but for
the overview storing closed days' totals through app/services/day_totals.py).

Every query is scoped by project and environment and is one index range scan at any size
(docs/PERFORMANCE.md, "Portal at a million payments"): the list pages by keyset on
(created_at, id) newest first, never by OFFSET; search matches whole values only."""

from __future__ import annotations

import base64
import binascii
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo

from sqlalchemy import and_, func, or_, select

from app.extensions import db
from app.models import (
    Environment,
    Payment,
    PaymentEvent,
    PaymentStatus,
    PaymentStatusChange,
    Project,
    WebhookAttempt,
    WebhookDelivery,
)
from app.models.base import utcnow
from app.services import NotFoundError, day_totals
from app.services.day_totals import NOT_CREATING, DayTotals

PAGE_SIZE = 50
OVERVIEW_DAYS = 30  # the overview's window, today included
PUBLIC_STATUSES = tuple(status for status in PaymentStatus if status != PaymentStatus.CREATING)
_payments = Payment.__table__.c

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_LIST_COLUMNS = (
    _payments.id,
    _payments.created_at,
    _payments.order_id,
    _payments.purchase_id,
    _payments.buyer_email,
    _payments.amount,
    _payments.status,
    _payments.midtrans_payment_type.label("payment_type"),
    _payments.paid_at,
)


@dataclass(frozen=True)
class PaymentFilters:
    status: PaymentStatus | None = None
    created_from: datetime | None = None  # created_from <= created_at < created_before
    created_before: datetime | None = None
    search: str | None = None

    @property
    def is_empty(self) -> bool:
        return self == PaymentFilters()


@dataclass(frozen=True)
class Cursor:
    """A position in the list: the (created_at, id) of the row next to the page."""

    created_at: datetime
    id: int

    def encode(self) -> str:
        micros = (self.created_at - _EPOCH) // timedelta(microseconds=1)  # exact, no float
        return base64.urlsafe_b64encode(f"{micros}.{self.id}".encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str | None) -> Cursor | None:
        """None for anything that is not a cursor this module wrote."""
        if not token or len(token) > 64:
            return None
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode("ascii")
            micros, _, row_id = raw.partition(".")
            if not (micros.isdigit() and row_id.isdigit() and 0 < int(row_id) < 2**63):
                return None
            return cls(_EPOCH + timedelta(microseconds=int(micros)), int(row_id))
        except (ValueError, UnicodeDecodeError, binascii.Error, OverflowError):
            return None


@dataclass(frozen=True)
class PaymentPage:
    rows: list
    older: Cursor | None  # the next page back in time (?after=)
    newer: Cursor | None  # the previous page (?before=)


def list_payments(
    project_id: str,
    environment: Environment,
    filters: PaymentFilters,
    after: Cursor | None = None,
    before: Cursor | None = None,
) -> PaymentPage:
    """One page, newest first. `after` pages back in time, `before` forward."""
    query = _filtered(project_id, environment, filters)
    if before is not None:
        # Forward: the PAGE_SIZE rows just newer than `before`, oldest first, then turned.
        rows = _fetch(query, before, older=False)
        if len(rows) <= PAGE_SIZE:
            return list_payments(project_id, environment, filters)  # that is the first page
        rows = rows[:PAGE_SIZE][::-1]
        return PaymentPage(rows, _cursor(rows[-1]), _cursor(rows[0]))
    rows = _fetch(query, after, older=True)
    page = rows[:PAGE_SIZE]
    older = _cursor(page[-1]) if len(rows) > PAGE_SIZE else None
    newer = _cursor(page[0]) if after is not None and page else None
    return PaymentPage(page, older, newer)


def _filtered(project_id: str, environment: Environment, filters: PaymentFilters):
    query = select(*_LIST_COLUMNS).where(
        _payments.project_id == project_id, _payments.environment == environment
    )
    if filters.status is not None:
        query = query.where(_payments.status == filters.status)
    else:
        query = query.where(NOT_CREATING)
    if filters.created_from is not None:
        query = query.where(_payments.created_at >= filters.created_from)
    if filters.created_before is not None:
        query = query.where(_payments.created_at < filters.created_before)
    if filters.search:
        query = query.where(search_condition(filters.search))
    return query


def search_condition(term: str):
    """Whole values only, each backed by an index: a buyer email (any case; order ids cannot
    contain "@"), a purchase id (pur_…, or a merchant order id that looks like one), or an
    exact merchant order id."""
    if "@" in term:
        return func.lower(_payments.buyer_email) == func.lower(term)
    if term.startswith("pur_"):
        return or_(_payments.purchase_id == term, _payments.order_id == term)
    return _payments.order_id == term


def _fetch(query, cursor: Cursor | None, older: bool) -> list:
    """PAGE_SIZE + 1 rows beyond the cursor, in keyset order (newest first when older)."""
    at, row_id = _payments.created_at, _payments.id
    if cursor is not None and older:
        # The plain bound on created_at makes the index range start at the cursor (in both
        # databases); the OR only settles ties on created_at by id.
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
    return list(db.session.execute(query.order_by(*order).limit(PAGE_SIZE + 1)))


def _cursor(row) -> Cursor:
    return Cursor(row.created_at, row.id)


# -- one payment ------------------------------------------------------------------------------


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    kind: str  # "event" (Midtrans notification or janitor check), "change", "delivery"
    item: object
    attempts: list = field(default_factory=list)


@dataclass(frozen=True)
class PaymentDetail:
    payment: Payment
    timeline: list[TimelineEntry]


_KIND_ORDER = {"event": 0, "change": 1, "delivery": 2}


def payment_detail(
    project_id: str, environment: Environment, purchase_id: str
) -> PaymentDetail | None:
    """The payment with everything that happened to it, oldest first, in five queries
    however long its history is. None unless it belongs to this project environment."""
    payment = db.session.scalar(
        select(Payment).where(
            Payment.purchase_id == purchase_id,
            Payment.project_id == project_id,
            Payment.environment == environment,
            Payment.status != PaymentStatus.CREATING,
        )
    )
    if payment is None:
        return None
    events = db.session.scalars(
        select(PaymentEvent).where(PaymentEvent.payment_id == payment.id)
    ).all()
    changes = db.session.scalars(
        select(PaymentStatusChange).where(PaymentStatusChange.payment_id == payment.id)
    ).all()
    ours = (
        WebhookDelivery.payment_id == payment.id,
        WebhookDelivery.project_id == project_id,
        WebhookDelivery.environment == environment,
    )
    deliveries = db.session.scalars(select(WebhookDelivery).where(*ours)).all()
    attempts = defaultdict(list)
    for attempt in db.session.scalars(
        select(WebhookAttempt)
        .join(WebhookDelivery, WebhookDelivery.id == WebhookAttempt.delivery_id)
        .where(*ours)
        .order_by(WebhookAttempt.delivery_id, WebhookAttempt.number, WebhookAttempt.id)
    ):
        attempts[attempt.delivery_id].append(attempt)
    timeline = [TimelineEntry(event.received_at, "event", event) for event in events]
    timeline += [TimelineEntry(change.created_at, "change", change) for change in changes]
    timeline += [
        TimelineEntry(delivery.created_at, "delivery", delivery, attempts[delivery.id])
        for delivery in deliveries
    ]
    timeline.sort(key=lambda entry: (entry.at, _KIND_ORDER[entry.kind], entry.item.id))
    return PaymentDetail(payment, timeline)


# -- the overview -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Overview:
    days: list[DayTotals]  # oldest first; the last one is today
    pending_now: int

    @property
    def today(self) -> DayTotals:
        return self.days[-1]

    @property
    def total(self) -> DayTotals:
        return DayTotals(
            self.days[0].day,
            sum(day.created for day in self.days),
            sum(day.paid for day in self.days),
            sum(day.revenue for day in self.days),
        )


def prepare_overviews(now: datetime | None = None, only: tuple[str, Environment] | None = None):
    """Store the closed days of every project environment's overview window (or `only` that
    one's) ahead of its views: the worker's maintenance pass, and the seed. Returns how many
    project environments needed it."""
    return day_totals.fill_closed_days(OVERVIEW_DAYS, now, only)


def recount_overview(project_id: str, environment: Environment) -> None:
    """Forget a project environment's stored days and count its window again now."""
    if db.session.get(Project, project_id) is None:
        raise NotFoundError(f"no project {project_id!r}")
    day_totals.clear(project_id, environment)
    db.session.commit()
    prepare_overviews(only=(project_id, environment))


def project_overview(
    project_id: str,
    environment: Environment,
    last: date,
    zone: tzinfo,
    days: int = OVERVIEW_DAYS,
    now: datetime | None = None,
) -> Overview:
    """Per calendar day of `zone` (the portal's WIB) for `days` days up to `last` included.

    Closed days come from their stored totals, the others (today) are counted live
    (app/services/day_totals.py); closed days counted for the first time, or again after an
    invalidation, are stored and committed."""
    first = last - timedelta(days=days - 1)
    window = [first + timedelta(days=offset) for offset in range(days)]
    totals = day_totals.window_totals(project_id, environment, window, now or utcnow(), zone)
    pending_now = db.session.scalar(
        select(func.count()).where(
            _payments.project_id == project_id,
            _payments.environment == environment,
            _payments.status == PaymentStatus.PENDING,
        )
    )
    return Overview(totals, pending_now)
