"""The public status lookup behind verify and the buyer's callback page: one indexed query."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

from sqlalchemy import and_, or_, select

from app.extensions import db
from app.models import ApiClient, Payment, PaymentStatus, Project
from app.services import ServiceError

PURCHASE_PREFIX = "pur_"
SLUG_PLACEHOLDER = "{store_slug}"


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


def find_payment_view(order_id: str, client_id: str | None = None) -> PaymentView | None:
    matches_purchase = order_id.startswith(PURCHASE_PREFIX)
    condition = Payment.order_id == order_id
    if matches_purchase:
        condition = or_(Payment.purchase_id == order_id, condition)
    query = (
        select(
            Payment.order_id,
            Payment.purchase_id,
            Payment.status,
            Payment.amount,
            Payment.currency,
            Payment.metadata_,
            Payment.paid_at,
            Project.name,
            Project.store_url_template,
        )
        .join(Project, Project.id == Payment.project_id)
        .where(condition, Payment.status != PaymentStatus.CREATING)
        .limit(3)
    )
    if client_id is not None:
        query = query.join(
            ApiClient,
            and_(
                ApiClient.project_id == Payment.project_id,
                ApiClient.environment == Payment.environment,
            ),
        ).where(ApiClient.client_id == client_id)
    rows = db.session.execute(query).all()
    if matches_purchase:
        by_purchase = [row for row in rows if row.purchase_id == order_id]
        if by_purchase:
            return _view(by_purchase[0])
    if len(rows) > 1:
        raise AmbiguousOrderIdError(
            "more than one payment has this order_id: pass client_id to choose the project"
        )
    return _view(rows[0]) if rows else None


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
    )


def store_redirect_url(template: str | None, slug: object) -> str | None:
    if not template or not isinstance(slug, str) or not slug:
        return None
    # The slug was validated as [a-z0-9-] at creation; quoting is the second lock on the door.
    return template.replace(SLUG_PLACEHOLDER, quote(slug, safe=""))
