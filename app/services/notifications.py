"""Midtrans notifications: store first, verify, confirm, then apply under a row lock."""

from __future__ import annotations

import json
import logging
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import current_app
from sqlalchemy import select

from app.extensions import db
from app.midtrans.client import (
    MidtransClient,
    MidtransError,
    MidtransNotFoundError,
    MidtransUnavailableError,
    settings_for,
)
from app.midtrans.signature import signature_matches
from app.midtrans.status import map_midtrans_status
from app.models import Environment, EventOutcome, Payment, PaymentEvent, PaymentStatus
from app.models.base import utcnow
from app.services import NotFoundError, ServiceError, ValidationError, webhooks
from app.services.payments import apply_status, lock_payment

log = logging.getLogger(__name__)

REQUIRED_FIELDS = ("order_id", "status_code", "gross_amount", "signature_key", "transaction_status")
STORED_HEADERS = ("Content-Type", "Content-Length", "User-Agent", "X-Forwarded-For")


class InvalidSignatureError(ServiceError):
    code = "invalid_signature"
    http_status = 403


class AmountMismatchError(ServiceError):
    code = "amount_mismatch"
    http_status = 422


class UnavailableError(ServiceError):
    code = "unavailable"
    http_status = 503


def record_notification(raw_body: bytes, headers: dict[str, str], remote_addr: str | None) -> int:
    """Step 1: keep the untrusted request before believing any of it."""
    event = PaymentEvent(
        source="notification",
        # PostgreSQL text cannot hold NUL: a raw NUL byte (never valid JSON) is kept as U+FFFD
        # so that the request is stored all the same.
        raw_body=raw_body.decode("utf-8", errors="replace").replace("\x00", "\ufffd"),
        headers={name: headers[name][:500] for name in STORED_HEADERS if name in headers},
        remote_addr=(remote_addr or "")[:64] or None,
        received_at=utcnow(),
    )
    db.session.add(event)
    db.session.flush()
    event_id = event.id  # read before commit: after it, reading it would reload the row
    db.session.commit()
    return event_id


def process_notification(event_id: int) -> EventOutcome:
    """Steps 2-7 of SPEC §4. Raises a ServiceError (already recorded on the event) to refuse."""
    event = db.session.get(PaymentEvent, event_id)
    data = _parse(event)
    payment = _find_payment(data["order_id"])
    if payment is None:
        _refuse(event, EventOutcome.UNKNOWN_ORDER, NotFoundError("unknown order_id", "order_id"))
    event.payment_id = payment.id
    event.transaction_status = data["transaction_status"][:32]
    environment = Environment(payment.environment)
    try:
        settings = settings_for(environment)
    except MidtransUnavailableError as exc:
        _refuse(event, EventOutcome.UNAVAILABLE, UnavailableError(str(exc)))
    if not signature_matches(
        data["signature_key"],
        data["order_id"],
        data["status_code"],
        data["gross_amount"],
        settings.server_key,
    ):
        _refuse(event, EventOutcome.REJECTED, InvalidSignatureError("signature_key does not match"))
    payment_id = payment.id
    # Commit what is known so far: no transaction stays open across the Get Status call.
    db.session.commit()
    truth = data
    if current_app.config["MIDTRANS_CONFIRM_STATUS"]:
        truth = _confirm(event, MidtransClient(settings), data["order_id"])
    return apply_midtrans_state(payment_id, truth, event)


def apply_midtrans_state(
    payment_id: int, truth: dict[str, Any], event: PaymentEvent
) -> EventOutcome:
    """Apply a confirmed Midtrans state; shared by notifications and the pending janitor."""
    transaction_status = str(truth.get("transaction_status") or "")
    event.transaction_status = transaction_status[:32] or event.transaction_status
    target = map_midtrans_status(transaction_status, _optional_text(truth.get("fraud_status")))
    if target is None:
        _finish(event, EventOutcome.UNKNOWN_STATUS, 200, f"unknown status {transaction_status!r}")
        db.session.commit()
        return EventOutcome.UNKNOWN_STATUS
    payment = lock_payment(payment_id)
    entering_settlement = (
        target == PaymentStatus.SETTLEMENT and payment.status != PaymentStatus.SETTLEMENT
    )
    if entering_settlement and not _amount_covers(truth.get("gross_amount"), payment.amount):
        # Record the refusal and release the lock; the payment does not move.
        _refuse(
            event,
            EventOutcome.AMOUNT_MISMATCH,
            AmountMismatchError(
                f"gross_amount {truth.get('gross_amount')!r} is below the payment's "
                f"amount {payment.amount}"
            ),
        )
    transition = apply_status(payment, target, truth, event)
    _finish(event, transition.outcome, 200, f"{transaction_status} -> {target}")
    purchase_id = payment.purchase_id  # after the commit this would reload the payment
    db.session.commit()
    log.info("payment %s: %s (%s)", purchase_id, transition.outcome, transaction_status)
    webhooks.enqueue(transition.delivery_ids)  # only after commit: the rows now exist
    return transition.outcome


def _parse(event: PaymentEvent) -> dict[str, Any]:
    try:
        data = json.loads(event.raw_body)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        _refuse(event, EventOutcome.INVALID, ValidationError("body must be a JSON object"))
    for name, value in data.items():
        if isinstance(value, str) and "\x00" in value:
            _refuse(
                event,
                EventOutcome.INVALID,
                ValidationError(f"{name[:40]!r} must not contain a NUL character", field=None),
            )
    for name in REQUIRED_FIELDS:
        value = data.get(name)
        if not isinstance(value, str) or not value.strip():
            _refuse(
                event,
                EventOutcome.INVALID,
                ValidationError(f"{name} is required and must be a string", field=name),
            )
    return data


def _find_payment(order_id: str) -> Payment | None:
    payment = db.session.scalar(select(Payment).where(Payment.purchase_id == order_id))
    if payment is None:
        # Some VA and BI-SNAP methods report Midtrans's transaction_id as the order_id.
        payment = db.session.scalar(
            select(Payment).where(Payment.midtrans_transaction_id == order_id).limit(1)
        )
    return payment


def _confirm(event: PaymentEvent, client: MidtransClient, order_id: str) -> dict[str, Any]:
    timeout = current_app.config["MIDTRANS_STATUS_TIMEOUT_SECONDS"]
    try:
        return client.get_status(order_id, timeout=timeout)
    except MidtransNotFoundError as exc:
        _refuse(event, EventOutcome.NOT_FOUND_UPSTREAM, NotFoundError(exc.message))
    except MidtransError as exc:
        # 503 so that Midtrans tries again later.
        _refuse(event, EventOutcome.UNCONFIRMED, UnavailableError(exc.message))
    raise AssertionError("unreachable")


def _amount_covers(reported: Any, expected: int) -> bool:
    try:
        amount = Decimal(str(reported))
    except (InvalidOperation, ValueError):
        return False
    return amount.is_finite() and amount >= expected


def _optional_text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _finish(event: PaymentEvent, outcome: EventOutcome, http_status: int, detail: str) -> None:
    event.outcome = outcome
    event.http_status = http_status
    event.detail = detail[:500]
    event.processed_at = utcnow()


def _refuse(event: PaymentEvent, outcome: EventOutcome, error: ServiceError):
    """Record why the event was refused, commit it, and raise the error for the caller."""
    _finish(event, outcome, error.http_status, error.message)
    db.session.commit()
    raise error
