"""The one place a payment's status moves: under its row lock, along the transition table of
app/models/payment.py, with the merchant's events and the overview's stale days recorded in
the same transaction."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from app.extensions import db
from app.midtrans.payment_types import payment_channel
from app.midtrans.timefmt import parse_midtrans_time
from app.models import (
    EventOutcome,
    Payment,
    PaymentEvent,
    PaymentStatus,
    PaymentStatusChange,
    can_transition,
)
from app.models.base import utcnow
from app.services.outbox.events import record_payment_events
from app.services.reporting import day_totals


@dataclass(frozen=True)
class Transition:
    outcome: EventOutcome
    # Merchant events created with the change: enqueue them once the transaction commits.
    delivery_ids: list[str] = field(default_factory=list)


def lock_payment(payment_id: int) -> Payment:
    """SELECT … FOR UPDATE with fresh values (the session may hold a stale copy)."""
    return db.session.execute(
        select(Payment)
        .where(Payment.id == payment_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()


def apply_status(
    payment: Payment, target: PaymentStatus, midtrans: dict[str, Any], event: PaymentEvent
) -> Transition:
    """Move a locked payment to `target` if the state machine allows it; the caller commits.

    `midtrans` is the confirmed Midtrans transaction (notification or Get Status body).
    """
    current = payment.status
    if target != current and not can_transition(current, target):
        # A stale notification changes nothing, not even the raw Midtrans fields.
        return Transition(EventOutcome.STALE)
    # A duplicate still refreshes them: a first "pending" brings the transaction_id that
    # later notifications may use as their order_id.
    _remember_midtrans_fields(payment, midtrans)
    if target == current and target != PaymentStatus.PARTIAL_REFUND:
        # The first "pending" of a payment created pending confirms it; only a report
        # already received is a duplicate.
        repeat = _reported_before(payment, event)
        return Transition(EventOutcome.DUPLICATE if repeat else EventOutcome.CONFIRMED)
    repeated_partial_refund = current == target == PaymentStatus.PARTIAL_REFUND
    if repeated_partial_refund and not _refund_amount_changed(payment, midtrans):
        # Another partial refund only when Midtrans reports a different refunded total.
        return Transition(EventOutcome.DUPLICATE)
    paid_before = payment.paid_at
    payment.status = target
    if target == PaymentStatus.SETTLEMENT:
        payment.paid_at = _paid_at(midtrans)
        payment.paid_amount = str(midtrans.get("gross_amount") or payment.amount)
    if target in (PaymentStatus.REFUND, PaymentStatus.PARTIAL_REFUND):
        payment.refunded_amount = _text(midtrans.get("refund_amount"))
    # The overview stores closed days' totals: a change landing on a past day (a settlement
    # dated days ago, a reversal, a refund; a "creating" row's day, met in a crash window)
    # marks that day stale, in this transaction, so it commits or rolls back with the change.
    # A payment of today, the normal case, costs no statement.
    day_totals.invalidate_past_days(
        payment.project_id,
        payment.environment,
        (
            paid_before,
            payment.paid_at,
            payment.created_at if current == PaymentStatus.CREATING else None,
        ),
    )
    change = PaymentStatusChange(
        payment_id=payment.id,
        event_id=event.id,
        from_status=current,
        to_status=target,
        created_at=utcnow(),
    )
    db.session.add(change)
    db.session.flush()
    # The merchant hears about it through events written in this same transaction: if the
    # change commits, so do they; if it rolls back, nothing was promised.
    return Transition(EventOutcome.APPLIED, record_payment_events(payment, current, change))


def _reported_before(payment: Payment, event: PaymentEvent) -> bool:
    """Whether an earlier verified event of this payment carried the same Midtrans status."""
    earlier = db.session.scalar(
        select(PaymentEvent.id)
        .where(
            PaymentEvent.payment_id == payment.id,
            PaymentEvent.id != event.id,
            PaymentEvent.transaction_status == event.transaction_status,
            PaymentEvent.outcome.in_(
                (EventOutcome.APPLIED, EventOutcome.CONFIRMED, EventOutcome.DUPLICATE)
            ),
        )
        .limit(1)
    )
    return earlier is not None


def _remember_midtrans_fields(payment: Payment, midtrans: dict[str, Any]) -> None:
    for column, key in (
        ("midtrans_transaction_status", "transaction_status"),
        ("midtrans_fraud_status", "fraud_status"),
        ("midtrans_payment_type", "payment_type"),
        ("midtrans_transaction_id", "transaction_id"),
    ):
        value = midtrans.get(key)
        if isinstance(value, str) and value:
            setattr(payment, column, value[:64])
    channel = payment_channel(midtrans)
    if channel is not None:
        payment.payment_channel = channel


def _refund_amount_changed(payment: Payment, midtrans: dict[str, Any]) -> bool:
    reported = _text(midtrans.get("refund_amount"))
    return reported is not None and reported != payment.refunded_amount


def _text(value: Any) -> str | None:
    return None if value is None else str(value)[:32]


def _paid_at(midtrans: dict[str, Any]) -> datetime:
    return (
        parse_midtrans_time(midtrans.get("settlement_time"))
        or parse_midtrans_time(midtrans.get("transaction_time"))
        or utcnow()
    )
