"""Creating a hosted checkout: one payment row, one Snap session, idempotent on order_id."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import ColumnElement, select, update
from sqlalchemy.exc import IntegrityError

from app import metrics
from app.errors import ServiceError, UnavailableError, UpstreamError, ValidationError
from app.extensions import db
from app.midtrans.client import (
    MidtransClient,
    MidtransError,
    MidtransUnavailableError,
    settings_for,
)
from app.midtrans.timefmt import format_expiry_start
from app.models import DIRECT_ITEM_ID, ApiClient, Payment, PaymentStatus
from app.models.base import utcnow
from app.security import random_token
from app.services.accounts.standing import check_may_start_checkout
from app.services.checkout import stock
from app.services.outbox.endpoints import validate_webhook_url
from app.services.urls import require_scheme

log = logging.getLogger(__name__)

# A new checkout is asked about by the reconciler this long after it opened.
FIRST_RECONCILE = timedelta(minutes=5)

DEFAULT_ITEM_NAME = "Pembayaran"
MIDTRANS_NAME_LIMIT = 50
MAX_RETURN_URL_LENGTH = 500
# How long a second request waits for a racing first one to finish its Midtrans call
# (which may take up to 10 s) before treating that first one as crashed.
CREATION_WAIT_SECONDS = 12.0


class OrderIdConflictError(ServiceError):
    code = "order_id_conflict"
    http_status = 409


@dataclass(frozen=True)
class ItemLine:
    """What an item checkout buys (SPEC §13): the item's row, units, and the unit price."""

    item_ref: int
    quantity: int
    unit_price: int


@dataclass(frozen=True)
class CheckoutRequest:
    amount: int
    order_id: str
    buyer_email: str
    buyer_name: str | None = None
    item_name: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    # SPEC §11.1, each checked by the API's schema except the two URLs (checked here).
    buyer_phone: str | None = None
    expires_in_minutes: int | None = None
    enabled_payments: list[str] | None = None
    return_url: str | None = None
    webhook_url: str | None = None
    item: ItemLine | None = None  # None: a shop payment (the merchant keeps the catalog)


@dataclass(frozen=True)
class CheckoutResult:
    payment: Payment
    created: bool


def create_checkout(client: ApiClient, request: CheckoutRequest) -> CheckoutResult:
    # Suspended, archived or (production) unapproved: no new checkout, nothing stored.
    check_may_start_checkout(client.project, client.environment)
    request = replace(
        request,
        return_url=validate_return_url(request.return_url),
        webhook_url=validate_webhook_url(request.webhook_url),
    )
    try:
        settings_for(client.environment)  # no server key: unavailable, before anything is stored
    except MidtransUnavailableError as exc:
        raise UnavailableError(str(exc)) from None
    deadline = time.monotonic() + CREATION_WAIT_SECONDS
    while True:
        existing = _find(client, request.order_id)
        if existing is None:
            payment = _claim_order_id(client, request)
            if payment is None:
                continue  # a racing request claimed it first: replay theirs
            opened = _open_snap_session(payment)
            metrics.checkout_created(str(client.environment))
            return CheckoutResult(opened, created=True)
        if existing.status != PaymentStatus.CREATING:
            return CheckoutResult(_replay(existing, request), created=False)
        if time.monotonic() < deadline:
            db.session.rollback()  # end the read snapshot so the next look sees new commits
            time.sleep(0.05)
            continue
        # Still "creating" long after any Midtrans call could last: its request died.
        _discard(existing.id)


def _find(client: ApiClient, order_id: str) -> Payment | None:
    return db.session.scalar(
        select(Payment)
        .where(
            Payment.project_id == client.project_id,
            Payment.environment == client.environment,
            Payment.order_id == order_id,
        )
        .execution_options(populate_existing=True)
    )


def _claim_order_id(client: ApiClient, request: CheckoutRequest) -> Payment | None:
    """Insert the row that owns the order id; None when a racing request got there first."""
    now = utcnow()
    minutes = request.expires_in_minutes or current_app.config["CHECKOUT_EXPIRY_MINUTES"]
    payment = Payment(
        purchase_id="pur_" + random_token(24),
        project_id=client.project_id,
        environment=client.environment,
        order_id=request.order_id,
        amount=request.amount,
        currency="IDR",
        buyer_email=request.buyer_email,
        buyer_name=request.buyer_name,
        buyer_phone=request.buyer_phone,
        item_name=request.item_name,
        metadata_=request.metadata,
        enabled_payments=request.enabled_payments,
        return_url=request.return_url,
        webhook_url=request.webhook_url,
        status=PaymentStatus.CREATING,
        expires_at=now + timedelta(minutes=minutes),
        created_at=now,
    )
    db.session.add(payment)
    if request.item is not None:
        # The units are taken in the transaction that inserts the row: both or neither.
        try:
            held = stock.hold(request.item.item_ref, request.item.quantity)
        except ServiceError:
            db.session.rollback()
            raise
        payment.item_ref, payment.quantity = request.item.item_ref, request.item.quantity
        payment.stock_held = held
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return None
    return payment


def _open_snap_session(payment: Payment) -> Payment:
    config = current_app.config
    client = MidtransClient.for_environment(payment.environment)
    payload = snap_request(payment)
    # No transaction stays open across the Midtrans call (up to 10 s): it would hold a
    # connection idle in transaction on PostgreSQL and the write lock on SQLite.
    db.session.commit()
    try:
        session = client.create_snap_transaction(
            payload,
            notification_url=f"{config['PUBLIC_BASE_URL']}/api/midtrans/notification",
            timeout=config["MIDTRANS_CREATE_TIMEOUT_SECONDS"],
        )
    except MidtransError as exc:
        log.warning("snap create failed for %s: %s", payment.purchase_id, exc.message)
        _discard(payment.id)  # nothing left behind: the merchant may retry the same order_id
        raise UpstreamError(exc.message) from None
    db.session.execute(
        update(Payment)
        .where(Payment.id == payment.id, Payment.status == PaymentStatus.CREATING)
        .values(
            status=PaymentStatus.PENDING,
            snap_token=session.token,
            snap_redirect_url=session.redirect_url,
            updated_at=utcnow(),
            # The reconciler's first Get Status (reconcile.py's back-off).
            next_reconcile_at=utcnow() + FIRST_RECONCILE,
        )
    )
    db.session.commit()
    db.session.refresh(payment)
    return payment


def _discard(payment_id: int) -> None:
    db.session.rollback()
    discard_creating(Payment.id == payment_id)
    db.session.commit()


def discard_creating(*conditions: ColumnElement[bool]) -> int:
    """Delete the "creating" rows that match, giving back the units they hold, in the
    caller's transaction; how many. Each row is locked first, so a notification racing for
    one (it would move it to pending) either waits for the delete or wins before it."""
    rows = db.session.scalars(
        select(Payment)
        .where(Payment.status == PaymentStatus.CREATING, *conditions)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    for payment in rows:
        stock.release(payment)
        db.session.delete(payment)
    db.session.flush()
    return len(rows)


def _replay(existing: Payment, request: CheckoutRequest) -> Payment:
    same = (
        existing.amount == request.amount
        and existing.buyer_email.lower() == request.buyer_email.lower()
    )
    if same and existing.status == PaymentStatus.PENDING:
        return existing
    if not same:
        raise OrderIdConflictError(
            "order_id %(order_id)s was used before with a different amount or buyer_email",
            field="order_id",
            order_id=repr(existing.order_id),
        )
    raise OrderIdConflictError(
        "order_id %(order_id)s was used before and that payment is already %(status)s",
        field="order_id",
        order_id=repr(existing.order_id),
        status=str(existing.status),
    )


def snap_request(payment: Payment) -> dict[str, Any]:
    config = current_app.config
    name = (payment.item_name or DEFAULT_ITEM_NAME)[:MIDTRANS_NAME_LIMIT]
    first_name = payment.buyer_name or payment.buyer_email.split("@", 1)[0]
    customer: dict[str, Any] = {"first_name": first_name, "email": payment.buyer_email}
    if payment.buyer_phone:
        customer["phone"] = payment.buyer_phone
    line = {"id": DIRECT_ITEM_ID, "name": name, "price": payment.amount, "quantity": 1}
    if payment.item is not None:  # one line: the unit price and the quantity
        line.update(
            id=payment.item.item_id,
            price=payment.amount // payment.quantity,
            quantity=payment.quantity,
        )
    payload: dict[str, Any] = {
        "transaction_details": {"order_id": payment.purchase_id, "gross_amount": payment.amount},
        "item_details": [line],
        "customer_details": customer,
        "callbacks": {"finish": f"{config['PUBLIC_BASE_URL']}/purchase/callback"},
        "expiry": {
            "start_time": format_expiry_start(payment.created_at),
            "unit": "minute",
            "duration": expiry_minutes(payment),
        },
    }
    if payment.enabled_payments:
        payload["enabled_payments"] = list(payment.enabled_payments)
    return payload


def expiry_minutes(payment: Payment) -> int:
    """The checkout's life in whole minutes, as its expires_at was set from it."""
    return round((payment.expires_at - payment.created_at).total_seconds() / 60)


def validate_return_url(url: str | None) -> str | None:
    """An absolute https URL (http outside production) of at most 500 characters."""
    if url is None:
        return None
    field_name = "return_url"
    parts = urlsplit(url)
    if len(url) > MAX_RETURN_URL_LENGTH or any(ch.isspace() for ch in url):
        raise ValidationError("return_url must be a URL of at most 500 characters", field_name)
    require_scheme(parts, field_name, https_only=current_app.config["LUNAS_ENV"] == "production")
    if not parts.hostname or "@" in parts.netloc:
        raise ValidationError("return_url needs a host and no user name", field_name)
    return url
