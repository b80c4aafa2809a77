"""The one place a payment's status moves: under its row lock, along the transition table of
app/models/payment.py, with the merchant's events and the overview's stale days recorded in
the same transaction."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import func, select

from app.extensions import db
from app.midtrans.payment_types import payment_channel
from app.midtrans.timefmt import parse_midtrans_time
from app.models import (
    EventOutcome,
    Payment,
    PaymentEvent,
    PaymentStatus,
    PaymentStatusChange,
    Refund,
    RefundStatus,
    can_transition,
)
from app.models.base import utcnow
from app.services.checkout import handover, stock
from app.services.outbox.events import record_payment_events
from app.services.reporting import day_totals

# A settlement is asked about once more this long after it was applied (the reconciler).
SETTLED_RECHECK = timedelta(days=1)


@dataclass(frozen=True)
class Transition:
    outcome: EventOutcome
    # Merchant events created with the change: enqueue them once the transaction commits.
    delivery_ids: list[str] = field(default_factory=list)


REFUND_STATUSES = (PaymentStatus.REFUND, PaymentStatus.PARTIAL_REFUND)


def lock_payment(payment_id: int) -> Payment:
    """SELECT … FOR UPDATE with fresh values (the session may hold a stale copy)."""
    return db.session.execute(
        select(Payment)
        .where(Payment.id == payment_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()


def apply_status(
    payment: Payment,
    target: PaymentStatus,
    midtrans: dict[str, Any],
    event: PaymentEvent,
    refund: Refund | None = None,
) -> Transition:
    """Move a locked payment to `target` if the state machine allows it; the caller commits.

    `midtrans` is the confirmed Midtrans transaction (notification, Get Status body, or the
    answer to our own refund or cancel call); `refund` is the refund of ours that caused it.
    """
    current = payment.status
    if target != current and not _may_move(payment, target):
        # A stale notification changes nothing, not even the raw Midtrans fields.
        return Transition(EventOutcome.STALE)
    # A duplicate still refreshes them: a first "pending" brings the transaction_id that
    # later notifications may use as their order_id.
    _remember_midtrans_fields(payment, midtrans)
    if target in REFUND_STATUSES:
        # Midtrans's word on a refund of ours still pending (its call timed out) settles it:
        # that refund, not a second one.
        settled = _settle_pending_refunds(payment, midtrans)
        refund = refund or (settled[0] if len(settled) == 1 else None)
    if target == current and target != PaymentStatus.PARTIAL_REFUND:
        # The first "pending" of a payment created pending confirms it; only a report
        # already received is a duplicate.
        repeat = _reported_before(payment, event)
        return Transition(EventOutcome.DUPLICATE if repeat else EventOutcome.CONFIRMED)
    repeated_partial_refund = current == target == PaymentStatus.PARTIAL_REFUND
    if repeated_partial_refund and not _refund_amount_changed(payment, midtrans):
        # Another partial refund only when more is refunded than we hold.
        return Transition(EventOutcome.DUPLICATE)
    paid_before, refunded_before = payment.paid_at, payment.refunded
    payment.status = target
    # The reconciler (reconcile.py) asks about a settlement once more a day later, and never
    # about a final status; a pending one keeps its back-off.
    if target == PaymentStatus.SETTLEMENT:
        payment.next_reconcile_at = utcnow() + SETTLED_RECHECK
    elif target != PaymentStatus.PENDING:
        payment.next_reconcile_at = None
    if target == PaymentStatus.SETTLEMENT:
        payment.paid_at = _paid_at(midtrans)
        payment.paid_amount = str(midtrans.get("gross_amount") or payment.amount)
    if target in REFUND_STATUSES:
        payment.refunded_amount = _text(midtrans.get("refund_amount"))
        payment.refunded = max(
            whole_rupiah(midtrans.get("refund_amount")) or 0, succeeded_refunds(payment.id)
        )
        if target == PaymentStatus.REFUND:
            payment.refunded = payment.amount  # a full refund is all of it, reported or not
    if target == PaymentStatus.CANCEL and current != PaymentStatus.SETTLEMENT:
        payment.cancelled_at = utcnow()
    stock.follow_status(payment, current, target)  # an item checkout's units, in step
    delivery = handover.follow_status(payment, current, target)  # its buyer's link, in step
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
    delivery_ids = record_payment_events(
        payment, current, change, refund, refunded_before=refunded_before, delivery=delivery
    )
    return Transition(EventOutcome.APPLIED, delivery_ids)


def _may_move(payment: Payment, target: PaymentStatus) -> bool:
    """The transition table, and one rule it cannot hold: a checkout cancelled while pending
    may still be settled (a buyer paying on a Snap page left open, SPEC §11.3), but money
    Midtrans reversed (settlement → cancel) never becomes money again."""
    if payment.status == PaymentStatus.CANCEL and target == PaymentStatus.SETTLEMENT:
        return payment.paid_at is None
    return can_transition(payment.status, target)


def _settle_pending_refunds(payment: Payment, midtrans: dict[str, Any]) -> list[Refund]:
    """Our pending refunds that Midtrans lists as made (`refunds[].refund_key`), marked
    succeeded in the caller's transaction."""
    listed = midtrans.get("refunds")
    if not isinstance(listed, list):
        return []
    made = {
        str(entry.get("refund_key")): entry
        for entry in listed
        if isinstance(entry, dict) and entry.get("refund_key")
    }
    if not made:
        return []
    settled = list(
        db.session.scalars(
            select(Refund)
            .where(
                Refund.payment_id == payment.id,
                Refund.status == RefundStatus.PENDING,
                Refund.id.in_(list(made)),
            )
            .order_by(Refund.created_at)
        )
    )
    for refund in settled:
        mark_refund_succeeded(refund, made[refund.id])
    db.session.flush()
    return settled


def mark_refund_succeeded(refund: Refund, midtrans: dict[str, Any]) -> None:
    refund.status = RefundStatus.SUCCEEDED
    refund.finished_at = utcnow()
    refund.next_check_at = None
    chargeback = midtrans.get("refund_chargeback_id")
    if chargeback is not None:
        refund.midtrans_refund_id = str(chargeback)[:64]


def succeeded_refunds(payment_id: int) -> int:
    """The sum of this payment's refunds that Midtrans made."""
    return int(
        db.session.scalar(
            select(func.coalesce(func.sum(Refund.amount), 0)).where(
                Refund.payment_id == payment_id, Refund.status == RefundStatus.SUCCEEDED
            )
        )
    )


def whole_rupiah(value: Any) -> int | None:
    """Midtrans's amount text ("25000.00") as whole Rupiah; None when it is not a number."""
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return int(amount) if amount.is_finite() and amount >= 0 else None


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
    """Whether more is refunded than we hold: Midtrans reports a larger total, or our own
    succeeded refunds add up to more ("25000.00" is our 25000: the notification that follows
    a refund of ours is that same refund, and so is our answer after its notification)."""
    reported = whole_rupiah(midtrans.get("refund_amount")) or 0
    return max(reported, succeeded_refunds(payment.id)) > payment.refunded


def _text(value: Any) -> str | None:
    return None if value is None else str(value)[:32]


def _paid_at(midtrans: dict[str, Any]) -> datetime:
    return (
        parse_midtrans_time(midtrans.get("settlement_time"))
        or parse_midtrans_time(midtrans.get("transaction_time"))
        or utcnow()
    )
