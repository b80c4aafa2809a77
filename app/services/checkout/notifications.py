"""Midtrans notifications: store first, verify, confirm, then apply under a row lock."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import current_app
from pydantic import ValidationError as PydanticValidationError
from sqlalchemy import select

from app import logs, metrics
from app.errors import NotFoundError, ServiceError, UnavailableError, ValidationError
from app.extensions import db
from app.json_input import JsonInputError, read_json
from app.midtrans.client import (
    MidtransClient,
    MidtransError,
    MidtransNotFoundError,
    MidtransUnavailableError,
    settings_for,
)
from app.midtrans.notification import NotificationBody
from app.midtrans.signature import signature_matches
from app.midtrans.status import NOTIFICATION_STATUS_CODES, map_midtrans_status
from app.models import EventOutcome, Payment, PaymentEvent, PaymentStatus
from app.models.base import utcnow
from app.services.checkout.status import apply_status, lock_payment
from app.services.outbox.queue import enqueue
from app.text import has_nul, storable

log = logging.getLogger(__name__)

STORED_HEADERS = ("Content-Type", "Content-Length", "User-Agent", "X-Forwarded-For")


class InvalidSignatureError(ServiceError):
    code = "invalid_signature"
    http_status = 403


class AmountMismatchError(ServiceError):
    code = "amount_mismatch"
    http_status = 422


class Refused(Exception):
    """An event that will not be applied: why (the outcome), and the error for the caller."""

    def __init__(self, outcome: EventOutcome, error: ServiceError) -> None:
        super().__init__(error.message)
        self.outcome = outcome
        self.error = error


@contextmanager
def _kept_across_commits() -> Iterator[None]:
    """A notification's own new event row is written by this request alone, so reloading it
    after each of its commits (the session's default) is a SELECT per commit for nothing. The
    payment is never trusted from before a commit: `lock_payment` reads it again under its row
    lock (populate_existing)."""
    session = db.session()
    previous = session.expire_on_commit
    session.expire_on_commit = False
    try:
        yield
    finally:
        session.expire_on_commit = previous


def record_notification(raw_body: bytes, headers: dict[str, str], remote_addr: str | None) -> int:
    """Step 1: keep the untrusted request before believing any of it."""
    with _kept_across_commits():
        return _record(raw_body, headers, remote_addr)


def _record(raw_body: bytes, headers: dict[str, str], remote_addr: str | None) -> int:
    event = PaymentEvent(
        source="notification",
        # A raw NUL byte (never valid JSON) is kept as U+FFFD: the request is stored all the same.
        raw_body=storable(raw_body.decode("utf-8", errors="replace")),
        headers={name: headers[name][:500] for name in STORED_HEADERS if name in headers},
        remote_addr=(remote_addr or "")[:64] or None,
        received_at=utcnow(),
    )
    db.session.add(event)
    db.session.flush()
    event_id = event.id
    db.session.commit()
    return event_id


def process_notification(event_id: int) -> EventOutcome:
    """Parse, find the payment, check the signature, confirm with Get Status, apply.
    Raises a ServiceError (already recorded on the event) to refuse.

    The event joins the payment's timeline (payment_id) only once its signature verifies:
    anyone who knows a purchase id can post a notification naming it, and what they post must
    never reach the merchant's pages. Until then it is an unverified event, kept apart for the
    operator (app/services/checkout/unverified.py) and purged after a few days."""
    with _kept_across_commits():
        return _process(event_id)


def _process(event_id: int) -> EventOutcome:
    event = db.session.get(PaymentEvent, event_id)
    with _refusals_recorded(event):
        data = _parse(event)
        event.transaction_status = data["transaction_status"][:32]
        payment = _find_payment(data["order_id"])
        if payment is None:
            raise Refused(EventOutcome.UNKNOWN_ORDER, NotFoundError("unknown order_id", "order_id"))
        logs.bind(project_id=payment.project_id, purchase_id=payment.purchase_id)
        try:
            settings = settings_for(payment.environment)
        except MidtransUnavailableError as exc:
            raise Refused(EventOutcome.UNAVAILABLE, UnavailableError(str(exc))) from None
        if not signature_matches(
            data["signature_key"],
            data["order_id"],
            data["status_code"],
            data["gross_amount"],
            settings.server_key,
        ):
            raise Refused(
                EventOutcome.REJECTED, InvalidSignatureError("signature_key does not match")
            )
        # Midtrans signed it (with this payment's environment's key): from here on it is part
        # of this payment's history, whatever Get Status then says.
        event.payment_id = payment_id = payment.id
        # Commit what is known so far: no transaction stays open across the Get Status call.
        db.session.commit()
        truth = data
        if current_app.config["MIDTRANS_CONFIRM_STATUS"]:
            truth = _confirm(MidtransClient(settings), data["order_id"])
        else:
            # Believed as sent (never in production): at least the status must be one that
            # Midtrans signs with this status_code, so an edited status is not applied.
            _check_status_code(data)
    return apply_midtrans_state(payment_id, truth, event)


def apply_midtrans_state(
    payment_id: int, truth: dict[str, Any], event: PaymentEvent
) -> EventOutcome:
    """Apply a confirmed Midtrans state; shared by notifications and the pending janitor.
    Raises a ServiceError (already recorded on the event) to refuse."""
    with _refusals_recorded(event):
        return _apply(payment_id, truth, event)


@contextmanager
def _refusals_recorded(event: PaymentEvent) -> Iterator[None]:
    """The one place a refusal is recorded: on the event, committed (which also releases a
    row lock taken meanwhile; the payment did not move), then raised as the caller's error."""
    try:
        yield
    except Refused as refusal:
        _finish(event, refusal.outcome, refusal.error.http_status, refusal.error.message)
        db.session.commit()
        _count(event, refusal.outcome)
        raise refusal.error from None


def _apply(payment_id: int, truth: dict[str, Any], event: PaymentEvent) -> EventOutcome:
    transaction_status = str(truth.get("transaction_status") or "")
    event.transaction_status = transaction_status[:32] or event.transaction_status
    target = map_midtrans_status(transaction_status, _optional_text(truth.get("fraud_status")))
    if target is None:
        _finish(event, EventOutcome.UNKNOWN_STATUS, 200, f"unknown status {transaction_status!r}")
        db.session.commit()
        _count(event, EventOutcome.UNKNOWN_STATUS)
        return EventOutcome.UNKNOWN_STATUS
    payment = lock_payment(payment_id)
    entering_settlement = (
        target == PaymentStatus.SETTLEMENT and payment.status != PaymentStatus.SETTLEMENT
    )
    if entering_settlement and not _amount_covers(truth.get("gross_amount"), payment.amount):
        raise Refused(
            EventOutcome.AMOUNT_MISMATCH,
            AmountMismatchError(
                "gross_amount %(reported)s is below the payment's amount %(amount)s",
                reported=repr(truth.get("gross_amount")),
                amount=payment.amount,
            ),
        )
    transition = apply_status(payment, target, truth, event)
    _finish(event, transition.outcome, 200, f"{transaction_status} -> {target}")
    purchase_id = payment.purchase_id  # after the commit this would reload the payment
    db.session.commit()
    _count(event, transition.outcome)
    log.info("payment %s: %s (%s)", purchase_id, transition.outcome, transaction_status)
    enqueue(transition.delivery_ids)  # only after commit: the rows now exist
    return transition.outcome


def _parse(event: PaymentEvent) -> dict[str, Any]:
    try:
        data = read_json(event.raw_body)
    except JsonInputError as exc:
        raise Refused(EventOutcome.INVALID, ValidationError(exc.message, exc.field)) from None
    if not isinstance(data, dict):
        raise Refused(EventOutcome.INVALID, ValidationError("body must be a JSON object"))
    for name, value in data.items():
        if has_nul(value):
            refusal = ValidationError(
                "%(name)s must not contain a NUL character", name=repr(name[:40])
            )
            raise Refused(EventOutcome.INVALID, refusal)
    claimed = data.get("order_id")
    if isinstance(claimed, str):
        # What it claims to be about, for the operator: never a link to that payment.
        event.claimed_order_id = claimed[:64]
    try:
        NotificationBody.model_validate(data)
    except PydanticValidationError as exc:
        name = str(exc.errors()[0]["loc"][0])
        raise Refused(
            EventOutcome.INVALID,
            ValidationError("%(name)s is required and must be a string", field=name, name=name),
        ) from None
    return data


def _find_payment(order_id: str) -> Payment | None:
    payment = db.session.scalar(select(Payment).where(Payment.purchase_id == order_id))
    if payment is None:
        # Some VA and BI-SNAP methods report Midtrans's transaction_id as the order_id.
        payment = db.session.scalar(
            select(Payment).where(Payment.midtrans_transaction_id == order_id).limit(1)
        )
    return payment


def _confirm(client: MidtransClient, order_id: str) -> dict[str, Any]:
    timeout = current_app.config["MIDTRANS_STATUS_TIMEOUT_SECONDS"]
    try:
        return client.get_status(order_id, timeout=timeout)
    except MidtransNotFoundError as exc:
        raise Refused(EventOutcome.NOT_FOUND_UPSTREAM, NotFoundError(exc.message)) from None
    except MidtransError as exc:
        # 503 so that Midtrans tries again later.
        raise Refused(EventOutcome.UNCONFIRMED, UnavailableError(exc.message)) from None


def _check_status_code(data: dict[str, Any]) -> None:
    expected = NOTIFICATION_STATUS_CODES.get(data["transaction_status"].lower())
    if expected is not None and data["status_code"] != expected:
        raise Refused(
            EventOutcome.REJECTED,
            ValidationError(
                "status_code %(status_code)s does not belong to transaction_status "
                "%(transaction_status)s",
                field="status_code",
                status_code=repr(data["status_code"][:8]),
                transaction_status=repr(data["transaction_status"][:32]),
            ),
        )


def _amount_covers(reported: Any, expected: int) -> bool:
    try:
        amount = Decimal(str(reported))
    except (InvalidOperation, ValueError):
        return False
    return amount.is_finite() and amount >= expected


def _optional_text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _count(event: PaymentEvent, outcome: EventOutcome) -> None:
    """A Midtrans notification's outcome, once committed (the janitor's and the reconciler's
    checks share this path, and are not notifications)."""
    if event.source == "notification":
        metrics.notification_processed(str(outcome))


def _finish(event: PaymentEvent, outcome: EventOutcome, http_status: int, detail: str) -> None:
    event.outcome = outcome
    event.http_status = http_status
    event.detail = detail[:500]
    event.processed_at = utcnow()
