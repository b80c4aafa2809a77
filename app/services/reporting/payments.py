"""The portal's payments list and one payment's detail (read-only).

Every query is scoped by project and environment and is one index range scan at any size
(docs/PERFORMANCE.md, "Portal at a million payments"): the list pages by keyset
(app/services/reporting/paging.py); search matches whole values only."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, or_, select

from app.errors import NotFoundError
from app.extensions import db
from app.models import (
    Environment,
    Payment,
    PaymentEvent,
    PaymentStatus,
    PaymentStatusChange,
    Refund,
    WebhookAttempt,
    WebhookDelivery,
)
from app.services.reporting.day_totals import NOT_CREATING
from app.services.reporting.paging import Cursor, Keyset, Page

PAGE_SIZE = 50
PUBLIC_STATUSES = tuple(status for status in PaymentStatus if status != PaymentStatus.CREATING)
_payments = Payment.__table__.c

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


def _row_id(text: str) -> int | None:
    return int(text) if text.isdigit() and 0 < int(text) < 2**63 else None


KEYSET = Keyset(_payments.created_at, _payments.id, _row_id)


def list_payments(
    project_id: str,
    environment: Environment,
    filters: PaymentFilters,
    after: Cursor | None = None,
    before: Cursor | None = None,
) -> Page:
    """One page, newest first (the paging module says what `after` and `before` mean)."""
    query = filtered(project_id, environment, filters)
    return KEYSET.page(query, PAGE_SIZE, after=after, before=before)


def filtered(
    project_id: str, environment: Environment, filters: PaymentFilters, columns=_LIST_COLUMNS
):
    """The portal list's query (its `columns`) of exactly these filters, not yet ordered."""
    statuses = (filters.status,) if filters.status is not None else ()
    query = select(*columns).where(
        *scoped_conditions(
            project_id, environment, statuses, filters.created_from, filters.created_before
        )
    )
    if filters.search:
        query = query.where(search_condition(filters.search))
    return query


def scoped_conditions(
    project_id: str,
    environment: Environment,
    statuses: tuple[PaymentStatus, ...] = (),
    created_from: datetime | None = None,
    created_before: datetime | None = None,
) -> list:
    """The tenant scope and the filters the portal list and the API list share: the given
    statuses (else every status a merchant sees) and created_from <= created_at < created_before."""
    conditions = [_payments.project_id == project_id, _payments.environment == environment]
    if len(statuses) == 1:
        conditions.append(_payments.status == statuses[0])
    elif statuses:
        conditions.append(_payments.status.in_(statuses))
    else:
        conditions.append(NOT_CREATING)
    if created_from is not None:
        conditions.append(_payments.created_at >= created_from)
    if created_before is not None:
        conditions.append(_payments.created_at < created_before)
    return conditions


def search_condition(term: str):
    """Whole values only, each backed by an index: a buyer email (any case; order ids cannot
    contain "@"), a purchase id (pur_…, or a merchant order id that looks like one), or an
    exact merchant order id."""
    if "@" in term:
        return func.lower(_payments.buyer_email) == func.lower(term)
    if term.startswith("pur_"):
        return or_(_payments.purchase_id == term, _payments.order_id == term)
    return _payments.order_id == term


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
    refunds: list[Refund] = field(default_factory=list)  # oldest first


_KIND_ORDER = {"event": 0, "change": 1, "delivery": 2}


def payment_detail(project_id: str, environment: Environment, purchase_id: str) -> PaymentDetail:
    """The payment with everything that happened to it, oldest first, in six queries
    however long its history is. NotFoundError unless it belongs to this project
    environment."""
    payment = db.session.scalar(
        select(Payment).where(
            Payment.purchase_id == purchase_id,
            Payment.project_id == project_id,
            Payment.environment == environment,
            Payment.status != PaymentStatus.CREATING,
        )
    )
    if payment is None:
        raise NotFoundError("no payment %(purchase_id)s", purchase_id=repr(purchase_id))
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
    refunds = db.session.scalars(
        select(Refund).where(Refund.payment_id == payment.id).order_by(Refund.created_at, Refund.id)
    ).all()
    return PaymentDetail(payment, timeline, list(refunds))
