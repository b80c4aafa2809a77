"""The merchant API's reads (SPEC §11.2): the payment object, the list with its filters and
keyset cursors, one payment, the statistics and the account. Everything is scoped to the
credential's project environment: another one's payment is simply not found."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from app.clock import (
    EARLIEST_DAY,
    LATEST_DAY,
    WIB,
    is_representable,
    start_of_day_utc,
    today_wib,
)
from app.errors import NotFoundError, ValidationError
from app.extensions import db
from app.midtrans.payment_types import SNAP_PAYMENT_ALIASES, SNAP_PAYMENTS
from app.models import (
    DIRECT_ITEM_ID,
    ApiClient,
    Environment,
    Item,
    Payment,
    PaymentStatus,
    Refund,
)
from app.models.base import iso_utc, utcnow
from app.services.outbox.endpoints import endpoint_of, subscribed_events
from app.services.reporting import day_totals
from app.services.reporting.day_totals import IS_PAID, NOT_CREATING
from app.services.reporting.paging import ApiList
from app.services.reporting.payments import KEYSET, PUBLIC_STATUSES, scoped_conditions
from app.services.scope import Scope

PERIODS = {"today": 1, "week": 7, "month": 30, "year": 365, "all": None}
_payments = Payment.__table__.c


@dataclass(frozen=True)
class PaymentScope:
    project_id: str
    environment: Environment


# -- the payment object ------------------------------------------------------------------------


def payment_object(payment: Payment, refunds: list[Refund]) -> dict[str, Any]:
    base = current_app.config["PUBLIC_BASE_URL"]
    return {
        "purchase_id": payment.purchase_id,
        "order_id": payment.order_id,
        "environment": str(payment.environment),
        "status": str(payment.status),
        "amount": payment.amount,
        "refunded_amount": payment.refunded,
        "currency": payment.currency,
        "item_id": payment.public_item_id,
        "item_name": payment.item_name,
        "quantity": payment.quantity,
        "buyer_email": payment.buyer_email,
        "buyer_name": payment.buyer_name,
        "buyer_phone": payment.buyer_phone,
        "metadata": payment.metadata_ or {},
        "payment_type": payment.midtrans_payment_type,
        "payment_channel": payment.payment_channel,
        "invoice_url": f"{base}/pay/{payment.purchase_id}",
        "return_url": payment.return_url,
        "fulfilment_status": str(payment.fulfilment_status),
        "created_at": iso_utc(payment.created_at),
        "expires_at": iso_utc(payment.expires_at),
        "paid_at": iso_utc(payment.paid_at),
        "cancelled_at": iso_utc(payment.cancelled_at),
        "refunds": [refund_object(refund, payment.purchase_id) for refund in refunds],
    }


def refund_object(refund: Refund, purchase_id: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "refund_id": refund.id,
        "purchase_id": purchase_id,
        "amount": refund.amount,
        "reason": refund.reason,
        "status": str(refund.status),
        "created_at": iso_utc(refund.created_at),
    }
    if refund.failure_message is not None:
        body["failure_message"] = refund.failure_message
    return body


def refunds_of(payment_ids: list[int]) -> dict[int, list[Refund]]:
    """Each payment's refunds, oldest first, in one query."""
    found: dict[int, list[Refund]] = defaultdict(list)
    if payment_ids:
        for refund in db.session.scalars(
            select(Refund)
            .where(Refund.payment_id.in_(payment_ids))
            .order_by(Refund.created_at, Refund.id)
        ):
            found[refund.payment_id].append(refund)
    return found


def describe(payment: Payment) -> dict[str, Any]:
    """The payment object with its refunds."""
    return payment_object(payment, refunds_of([payment.id])[payment.id])


# -- one payment -------------------------------------------------------------------------------


def find_payment(scope: Scope, reference: str, lock: bool = False) -> Payment:
    """The payment of this project environment whose purchase_id, or else order_id, is
    `reference` (an order id may look like a purchase id: the purchase id wins).
    NotFoundError otherwise, whoever else's it is."""
    if len(reference) > 64:
        raise NotFoundError("no payment with that id")
    query = (
        select(Payment)
        .where(
            Payment.project_id == scope.project_id,
            Payment.environment == scope.environment,
            Payment.status != PaymentStatus.CREATING,
            or_(Payment.purchase_id == reference, Payment.order_id == reference),
        )
        .execution_options(populate_existing=True)
    )
    if lock:
        query = query.with_for_update()
    rows = list(db.session.scalars(query))
    rows.sort(key=lambda payment: payment.purchase_id != reference)
    if not rows:
        raise NotFoundError("no payment %(id)s", id=repr(reference[:64]))
    return rows[0]


def scope_of(purchase_id: str) -> PaymentScope:
    """The project environment a purchase id belongs to (purchase ids are unique across
    Lunas): how an operator's command, which has no credential, is scoped."""
    found = db.session.execute(
        select(Payment.project_id, Payment.environment).where(
            Payment.purchase_id == purchase_id[:64], Payment.status != PaymentStatus.CREATING
        )
    ).first()
    if found is None:
        raise NotFoundError("no payment with purchase_id %(id)s", id=repr(purchase_id[:64]))
    return PaymentScope(found.project_id, found.environment)


# -- the list ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ListQuery:
    statuses: tuple[PaymentStatus, ...] = ()
    created_from: datetime | None = None  # created_from <= created_at
    created_before: datetime | None = None  # created_at < created_before
    order_id: str | None = None
    buyer_email: str | None = None
    item_id: str | None = None
    limit: int = 20
    starting_after: str | None = None


def read_list_query(values: Mapping[str, Any]) -> ListQuery:
    """The list's query, from values already of their form (names, lengths and the limit are
    checked by the API's query model, app/api/schemas.PaymentListQuery): ValidationError for
    a status, a date or a cursor that does not read."""
    statuses: tuple[PaymentStatus, ...] = ()
    if values.get("status") is not None:
        names = [name.strip() for name in values["status"].split(",")]
        known = {str(status) for status in PUBLIC_STATUSES}
        for name in names:
            if name not in known:
                raise ValidationError(
                    "status: unknown value %(value)s (one of %(known)s)",
                    "status",
                    value=repr(name[:40]),
                    known=", ".join(sorted(known)),
                )
        statuses = tuple(PaymentStatus(name) for name in dict.fromkeys(names))
    created_from = _moment(values.get("created_from"), "created_from", end_of_day=False)
    created_before = _moment(values.get("created_to"), "created_to", end_of_day=True)
    if values.get("starting_after") is not None:
        KEYSET.read(values["starting_after"], "starting_after")  # refuses what it never gave
    return ListQuery(
        statuses=statuses,
        created_from=created_from,
        created_before=created_before,
        order_id=values.get("order_id"),
        buyer_email=values.get("buyer_email"),
        item_id=values.get("item_id"),
        limit=values["limit"],
        starting_after=values.get("starting_after"),
    )


def _moment(value: str | None, name: str, end_of_day: bool) -> datetime | None:
    """A WIB date (that whole day) or an ISO 8601 datetime with its zone, as a UTC bound:
    the day's start for created_from, the next day's start (exclusive) for created_to."""
    if value is None:
        return None
    problem = ValidationError(
        "%(name)s must be a date (YYYY-MM-DD, a WIB day) or an ISO 8601 datetime with zone",
        name,
        name=name,
    )
    if len(value) == 10:
        try:
            day = date.fromisoformat(value)
        except ValueError:
            raise problem from None
        if not EARLIEST_DAY <= day <= LATEST_DAY:
            raise problem
        return start_of_day_utc(day + timedelta(days=1) if end_of_day else day)
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        if moment.tzinfo is None:
            raise ValueError
        moment = moment.astimezone(UTC)
    except (ValueError, OverflowError):
        raise problem from None
    if not is_representable(moment):
        raise problem
    # created_to names the last moment included.
    return moment + timedelta(microseconds=1) if end_of_day else moment


def list_payments(scope: Scope, query: ListQuery) -> ApiList:
    """Newest first, one index range scan per page however deep (the one paginator)."""
    statement = select(Payment).where(
        *scoped_conditions(
            scope.project_id,
            scope.environment,
            tuple(query.statuses),
            query.created_from,
            query.created_before,
        )
    )
    if query.order_id is not None:
        statement = statement.where(_payments.order_id == query.order_id)
    if query.buyer_email is not None:
        statement = statement.where(
            func.lower(_payments.buyer_email) == func.lower(query.buyer_email)
        )
    if query.item_id == DIRECT_ITEM_ID:  # shop payments: the merchant keeps the catalog
        statement = statement.where(_payments.item_ref.is_(None))
    elif query.item_id is not None:
        statement = statement.where(
            _payments.item_ref.in_(
                select(Item.id).where(
                    Item.item_id == query.item_id,
                    Item.project_id == scope.project_id,
                    Item.environment == scope.environment,
                )
            )
        )
    page = KEYSET.page(
        statement,
        query.limit,
        after=KEYSET.read(query.starting_after, "starting_after"),
        fetch=lambda built: list(db.session.scalars(built.options(selectinload(Payment.item)))),
    )
    refunds = refunds_of([payment.id for payment in page.rows])
    data = [payment_object(payment, refunds[payment.id]) for payment in page.rows]
    return ApiList.of(page, data)


# -- statistics --------------------------------------------------------------------------------


def statistics(scope: Scope, period: str, now: datetime | None = None) -> dict[str, Any]:
    """SPEC §11.2's numbers over WIB days: closed days from their stored totals, the open ones
    (today, and yesterday for its first hour) counted live, as the portal overview reads them
    (app/services/reporting/day_totals.py), so a year or a million payments costs a few
    hundred small rows and today's index range."""
    if period not in PERIODS:
        raise ValidationError(
            "period must be one of %(periods)s", "period", periods=", ".join(PERIODS)
        )
    now = now or utcnow()
    last = today_wib(now)
    if PERIODS[period] is None:
        first = _first_day(scope)
        days = _days_between(first, last) if first is not None else []
    else:
        days = _days_between(last - timedelta(days=PERIODS[period] - 1), last)
    totals = (
        day_totals.window_totals(scope.project_id, scope.environment, days, now, WIB)
        if days
        else []
    )
    breakdown: dict[str, dict[str, int]] = {}
    for day in totals:
        for name, count, amount in day.breakdown:
            entry = breakdown.setdefault(name, {"count": 0, "amount": 0})
            entry["count"] += count
            entry["amount"] += amount
    bounded = PERIODS[period] is not None
    return {
        "period": period,
        "from": days[0].isoformat() if bounded else None,
        "to": last.isoformat() if bounded else None,
        "total_transactions": sum(day.created for day in totals),
        "total_paid": sum(day.paid for day in totals),
        "total_amount": sum(day.revenue for day in totals),
        "total_refunded": sum(day.refunded for day in totals),
        "breakdown": dict(sorted(breakdown.items())),
    }


def _first_day(scope: Scope) -> date | None:
    """The WIB day of the project environment's first payment (created, or paid: Midtrans's
    settlement time may precede our clock by a little), from the two indexes' first entries."""
    ours = (_payments.project_id == scope.project_id, _payments.environment == scope.environment)
    created = db.session.scalar(select(func.min(_payments.created_at)).where(*ours, NOT_CREATING))
    paid = db.session.scalar(select(func.min(_payments.paid_at)).where(*ours, IS_PAID))
    moments = [moment for moment in (created, paid) if moment is not None]
    return min(moments).astimezone(WIB).date() if moments else None


def _days_between(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


# -- the account -------------------------------------------------------------------------------


def account(client: ApiClient, midtrans_configured: bool) -> dict[str, Any]:
    endpoint = endpoint_of(client.project_id, client.environment)
    return {
        "project": {"id": client.project.id, "name": client.project.name},
        "environment": str(client.environment),
        "webhook": {"url": endpoint.url, "events": subscribed_events(endpoint)},
        "midtrans": {"configured": midtrans_configured},
        "payment_methods": [*SNAP_PAYMENTS, *SNAP_PAYMENT_ALIASES],
    }
