"""The public status lookup behind verify and the buyer's pages: one indexed query for verify
and the callback page, and where the invoice link sends the buyer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from urllib.parse import quote

from sqlalchemy import Select, and_, bindparam, or_, select

from app.errors import NotFoundError, ServiceError
from app.extensions import db
from app.models import ApiClient, Payment, PaymentStatus, Project
from app.models.base import utcnow
from app.services.accounts.projects import SLUG_PLACEHOLDER

PURCHASE_PREFIX = "pur_"


class AmbiguousOrderIdError(ServiceError):
    code = "ambiguous_order_id"
    http_status = 409


@dataclass(frozen=True)
class PaymentView:
    """Only what a buyer may see: never buyer email or name."""

    order_id: str
    purchase_id: str
    status: str
    amount: int
    currency: str
    store_name: str
    redirect_url: str | None
    paid_at: datetime | None
    item_name: str | None = None  # merchant text, shown (escaped) on the callback page


def find_payment_view(order_id: str, client_id: str | None = None) -> PaymentView | None:
    matches_purchase = order_id.startswith(PURCHASE_PREFIX)
    query = _lookup(matches_purchase, client_id is not None)
    params = {"order_id": order_id}
    if client_id is not None:
        params["client_id"] = client_id
    engine = db.engine
    if engine.dialect.name == "postgresql":
        # Polled by every waiting buyer: one read, so no BEGIN/ROLLBACK round trips around it
        # and none of the ORM session's work (SQLite keeps the session: its BEGIN IMMEDIATE).
        with engine.connect() as connection:
            rows = (
                connection.execution_options(isolation_level="AUTOCOMMIT")
                .execute(query, params)
                .all()
            )
    else:
        rows = db.session.execute(query, params).all()
    if matches_purchase:
        by_purchase = [row for row in rows if row.purchase_id == order_id]
        if by_purchase:
            return _view(by_purchase[0])
    if len(rows) > 1:
        raise AmbiguousOrderIdError(
            "more than one payment has this order_id: pass client_id to choose the project",
            field="order_id",
        )
    return _view(rows[0]) if rows else None


@cache
def _lookup(matches_purchase: bool, by_client: bool) -> Select:
    """The lookup, built once per shape: building it cost more CPU than running it.
    Core columns (not ORM entities): the rows are plain values, no ORM work per request."""
    payments, projects = Payment.__table__.c, Project.__table__.c
    order_id = bindparam("order_id")
    condition = payments.order_id == order_id
    if matches_purchase:
        condition = or_(payments.purchase_id == order_id, condition)
    query = (
        select(
            payments.order_id,
            payments.purchase_id,
            payments.status,
            payments.amount,
            payments.currency,
            payments.metadata.label("metadata_"),
            payments.paid_at,
            payments.item_name,
            projects.name,
            projects.store_url_template,
        )
        .join(Project.__table__, projects.id == payments.project_id)
        .where(condition, payments.status != PaymentStatus.CREATING)
        .limit(3)
    )
    if by_client:
        clients = ApiClient.__table__.c
        query = query.join(
            ApiClient.__table__,
            and_(
                clients.project_id == payments.project_id,
                clients.environment == payments.environment,
            ),
        ).where(clients.client_id == bindparam("client_id"))
    return query


def _view(row) -> PaymentView:
    metadata = row.metadata_ or {}
    store_name = metadata.get("store_name")
    return PaymentView(
        order_id=row.order_id,
        purchase_id=row.purchase_id,
        status=row.status,
        amount=row.amount,
        currency=row.currency,
        store_name=store_name if isinstance(store_name, str) and store_name else row.name,
        redirect_url=store_redirect_url(row.store_url_template, metadata.get("store_slug")),
        paid_at=row.paid_at,
        item_name=row.item_name,
    )


def store_redirect_url(template: str | None, slug: object) -> str | None:
    if not template or not isinstance(slug, str) or not slug:
        return None
    # The slug was validated as [a-z0-9-] at creation; quoting is the second lock on the door.
    return template.replace(SLUG_PLACEHOLDER, quote(slug, safe=""))


def invoice_destination(purchase_id: str) -> str | None:
    """Where the stable invoice URL sends the buyer: the Snap page while the payment can still
    be paid there, else None (the callback page, which shows the payment's state).
    NotFoundError when there is no such payment."""
    row = db.session.execute(
        select(Payment.status, Payment.snap_redirect_url, Payment.expires_at).where(
            Payment.purchase_id == purchase_id, Payment.status != PaymentStatus.CREATING
        )
    ).first()
    if row is None:
        raise NotFoundError(f"no payment {purchase_id!r}")
    payable = row.status == PaymentStatus.PENDING and row.expires_at > utcnow()
    return row.snap_redirect_url if payable and row.snap_redirect_url else None
