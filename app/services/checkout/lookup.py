"""The public status lookup behind verify and the buyer's pages: one indexed query for verify
and the callback page (answered from memory while nothing changed: status_cache.py), and
where the invoice link sends the buyer."""

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
from app.services.checkout.status_cache import status_cache

PURCHASE_PREFIX = "pur_"


class ClientIdRequiredError(ServiceError):
    """A merchant order id is unique only within one project environment, and anyone can make
    a free sandbox payment with any order id: without the client_id that names the project
    environment, another tenant's payment could answer for the merchant's order."""

    code = "client_id_required"

    def __init__(self, **params: object) -> None:
        super().__init__(
            "a merchant order_id needs client_id (the project environment's public id); "
            "or pass the purchase_id",
            field="client_id",
            **params,
        )


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
    environment: str
    client_id: str
    item_name: str | None = None  # merchant text, shown (escaped) on the callback page
    expires_at: datetime | None = None  # while pending and before it, Midtrans takes payment


def find_payment_view(order_id: str, client_id: str | None = None) -> PaymentView | None:
    """The payment verify answers for: by purchase_id (tried first for "pur_…"), or by the
    merchant's order id within the project environment `client_id` names. With a client_id,
    only that project environment's payments match, whichever id is given. None for none
    (an unknown client_id included); ClientIdRequiredError for a merchant id alone."""
    by_purchase = order_id.startswith(PURCHASE_PREFIX)
    if not by_purchase and client_id is None:
        raise ClientIdRequiredError()
    params = {"order_id": order_id}
    if client_id is not None:
        params["client_id"] = client_id
    rows = _read((by_purchase, client_id is not None), params)
    if by_purchase:
        # A merchant order id may look like a purchase id: the purchase id wins.
        rows.sort(key=lambda row: row.purchase_id != order_id)
    return _view(rows[0]) if rows else None


def find_purchase_view(purchase_id: str) -> PaymentView | None:
    """The buyer's pages: by our purchase_id only (that is what Midtrans and our links carry)."""
    if not purchase_id.startswith(PURCHASE_PREFIX):
        return None
    rows = _read((True, False), {"order_id": purchase_id})
    return _view(rows[0]) if rows else None


def _read(shape: tuple[bool, bool], params: dict[str, str]) -> list:
    engine = db.engine
    if engine.dialect.name != "postgresql":
        return db.session.execute(_lookup(*shape), params).all()  # SQLite: BEGIN IMMEDIATE
    cache = status_cache()
    if cache is None:
        return _read_postgresql(shape, params)
    key = (shape, params["order_id"], params.get("client_id"))
    rows = cache.rows(key)
    if rows is not None:
        return list(rows)
    ticket = cache.ticket()
    rows = _read_postgresql(shape, params)
    if rows:
        ids = {one for row in rows for one in (row.purchase_id, row.order_id)}
        cache.keep(key, tuple(rows), ids, ticket)
    return rows


def _read_postgresql(shape: tuple[bool, bool], params: dict[str, str]) -> list:
    # Polled by every waiting buyer: one read, so no BEGIN/ROLLBACK round trips around it
    # and none of the ORM session's work.
    with db.engine.connect() as connection:
        return (
            connection.execution_options(isolation_level="AUTOCOMMIT")
            .execute(_lookup(*shape), params)
            .all()
        )


@cache
def _lookup(by_purchase: bool, by_client: bool) -> Select:
    """The lookup, built once per shape: building it cost more CPU than running it.
    Core columns (not ORM entities): the rows are plain values, no ORM work per request.

    By purchase id alone, the purchase id must match (it is unique). With a client id, the
    project environment must be the client's, and then the merchant order id (unique there)
    may match too."""
    payments, projects, clients = Payment.__table__.c, Project.__table__.c, ApiClient.__table__.c
    order_id = bindparam("order_id")
    if by_client:
        condition = payments.order_id == order_id
        if by_purchase:
            condition = or_(payments.purchase_id == order_id, condition)
        condition = and_(clients.client_id == bindparam("client_id"), condition)
    else:
        condition = payments.purchase_id == order_id
    return (
        select(
            payments.order_id,
            payments.purchase_id,
            payments.status,
            payments.amount,
            payments.currency,
            payments.metadata.label("metadata_"),
            payments.paid_at,
            payments.expires_at,
            payments.item_name,
            payments.return_url,
            payments.environment,
            projects.name,
            projects.store_url_template,
            clients.client_id,
        )
        .join(Project.__table__, projects.id == payments.project_id)
        .join(
            ApiClient.__table__,
            and_(
                clients.project_id == payments.project_id,
                clients.environment == payments.environment,
            ),
        )
        .where(condition, payments.status != PaymentStatus.CREATING)
        .limit(2)
    )


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
        # The checkout's own return_url comes before the project's store URL template.
        redirect_url=row.return_url
        or store_redirect_url(row.store_url_template, metadata.get("store_slug")),
        paid_at=row.paid_at,
        environment=row.environment,
        client_id=row.client_id,
        item_name=row.item_name,
        expires_at=row.expires_at,
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
        raise NotFoundError("no payment %(purchase_id)s", purchase_id=repr(purchase_id))
    payable = row.status == PaymentStatus.PENDING and row.expires_at > utcnow()
    return row.snap_redirect_url if payable and row.snap_redirect_url else None
