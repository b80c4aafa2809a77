"""Refunds (SPEC §11.4): the row first, its id as Midtrans's refund_key, then the call.

The payment row lock is held only while the refund row is added (so racing refunds never
together exceed the amount: pending ones count as taken), never across the Midtrans call.
Whatever Midtrans then says is applied under the lock again; a call whose outcome is
unknown (a timeout, Midtrans down) leaves the refund `pending`, and check_pending_refunds
asks Midtrans later (Get Status lists a refund made under our key; if it does not, the same
key is sent again, which Midtrans treats as the same refund, never a second)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import func, select

from app import metrics
from app.errors import (
    RefundExceedsPaymentError,
    RefundNotSupportedError,
    RefundRefusedError,
    UnavailableError,
    ValidationError,
)
from app.extensions import db
from app.midtrans.client import (
    MidtransClient,
    MidtransError,
    MidtransRefusedError,
    MidtransUnavailableError,
)
from app.midtrans.payment_types import REFUNDABLE_PAYMENT_TYPES
from app.midtrans.status import map_midtrans_status
from app.models import (
    Environment,
    EventType,
    Payment,
    PaymentEvent,
    PaymentStatus,
    Refund,
    RefundStatus,
)
from app.models.base import utcnow
from app.security import random_token
from app.services.checkout.status import (
    REFUND_STATUSES,
    apply_status,
    lock_payment,
    mark_refund_succeeded,
    succeeded_refunds,
)
from app.services.outbox.events import due_now, record_payment_event
from app.services.outbox.queue import enqueue
from app.services.payments.read import find_payment, refunds_of
from app.services.payments.state import require_status
from app.services.scope import Scope

log = logging.getLogger(__name__)

REFUND_PREFIX = "rfd_"
MAX_REASON = 255
# A pending refund is asked about again after this long at first, then less often.
FIRST_CHECK_AFTER = timedelta(minutes=1)
LONGEST_CHECK_INTERVAL = timedelta(hours=1)
CHECK_BATCH = 100
REFUNDABLE_FROM = (PaymentStatus.SETTLEMENT, PaymentStatus.PARTIAL_REFUND)


@dataclass(frozen=True)
class RefundAsked:
    amount: int | None = None  # None: all that remains
    reason: str | None = None
    requested_by: str = "api"


def refund_payment(scope: Scope, reference: str, asked: RefundAsked) -> tuple[Refund, str]:
    """Refund (part of) a paid payment. Returns the refund (succeeded or pending) and the
    payment's purchase_id; raises for every refusal, after recording a Midtrans refusal."""
    if asked.reason is not None and len(asked.reason) > MAX_REASON:
        raise ValidationError(
            "reason must be at most %(maximum)s characters", "reason", maximum=MAX_REASON
        )
    payment = find_payment(scope, reference, lock=True)
    refund = _add_refund(payment, asked)
    purchase_id, environment = payment.purchase_id, payment.environment
    refund_id = refund.id
    db.session.commit()  # the row exists (and the lock is gone) before Midtrans is asked
    log.info("refund %s of %s: asking Midtrans for %d", refund_id, purchase_id, refund.amount)
    _ask_midtrans(refund_id, purchase_id, environment)
    refund = db.session.get(Refund, refund_id, populate_existing=True)
    if refund.status == RefundStatus.FAILED:
        raise RefundRefusedError(
            "Midtrans refused the refund: %(answer)s", "amount", answer=refund.failure_message
        )
    return refund, purchase_id


def refunds_for(scope: Scope, reference: str) -> tuple[Payment, list[Refund]]:
    payment = find_payment(scope, reference)
    return payment, refunds_of([payment.id])[payment.id]


def _add_refund(payment: Payment, asked: RefundAsked) -> Refund:
    """The checks, under the payment's row lock, and the pending row; the caller commits."""
    require_status(payment, REFUNDABLE_FROM, "refunded")
    if payment.midtrans_payment_type not in REFUNDABLE_PAYMENT_TYPES:
        if payment.midtrans_payment_type:
            raise RefundNotSupportedError(
                "Midtrans cannot refund %(payment_type)s payments through its API: refund the "
                "buyer outside Midtrans (a bank transfer), then mark the order in your own books",
                payment_type=payment.midtrans_payment_type,
            )
        raise RefundNotSupportedError(
            "Midtrans cannot refund this payment type payments through its API: refund the "
            "buyer outside Midtrans (a bank transfer), then mark the order in your own books"
        )
    try:
        MidtransClient.for_environment(payment.environment)
    except MidtransUnavailableError as exc:
        raise UnavailableError(str(exc)) from None
    left = remaining(payment)
    amount = left if asked.amount is None else asked.amount
    if left <= 0:
        raise RefundExceedsPaymentError(
            "nothing is left to refund (refunds still pending count as taken)", "amount"
        )
    if amount > left:
        raise RefundExceedsPaymentError(
            "amount %(amount)s is more than the %(left)s left to refund "
            "(refunds still pending count as taken)",
            "amount",
            amount=amount,
            left=left,
        )
    now = utcnow()
    refund = Refund(
        id=REFUND_PREFIX + random_token(24),
        payment_id=payment.id,
        project_id=payment.project_id,
        environment=payment.environment,
        amount=amount,
        reason=asked.reason,
        status=RefundStatus.PENDING,
        requested_by=asked.requested_by[:300],
        created_at=now,
        next_check_at=now + FIRST_CHECK_AFTER,
    )
    db.session.add(refund)
    db.session.flush()
    return refund


def remaining(payment: Payment) -> int:
    """What can still be refunded: refunds still pending count as taken."""
    return max(payment.amount - payment.refunded - _pending_total(payment.id), 0)


def refundable(payment: Payment) -> bool:
    """Whether a refund may be asked for now (the portal shows the form only then)."""
    return (
        payment.status in REFUNDABLE_FROM
        and payment.midtrans_payment_type in REFUNDABLE_PAYMENT_TYPES
        and remaining(payment) > 0
    )


def _pending_total(payment_id: int) -> int:
    return int(
        db.session.scalar(
            select(func.coalesce(func.sum(Refund.amount), 0)).where(
                Refund.payment_id == payment_id, Refund.status == RefundStatus.PENDING
            )
        )
    )


def _ask_midtrans(refund_id: str, purchase_id: str, environment: Environment) -> None:
    """Send the refund under its own key and apply the answer; an unknown outcome leaves it
    pending for check_pending_refunds."""
    refund = db.session.get(Refund, refund_id)
    amount, reason = refund.amount, refund.reason
    client = MidtransClient.for_environment(environment)
    db.session.rollback()  # no transaction (on SQLite: no write lock) across the call
    try:
        answer = client.refund(
            purchase_id,
            refund_key=refund_id,
            amount=amount,
            reason=reason,
            timeout=current_app.config["MIDTRANS_ACTION_TIMEOUT_SECONDS"],
        )
    except MidtransRefusedError as exc:
        _record_failure(refund_id, exc.message)
    except MidtransError as exc:
        db.session.rollback()
        metrics.refund_ended("unknown")
        log.warning("refund %s: outcome unknown (%s); will ask Midtrans again", refund_id, exc)
    else:
        _record_success(refund_id, answer, "refund")


def _record_success(refund_id: str, answer: dict[str, Any], source: str) -> None:
    """Midtrans made the refund: the refund succeeds and the payment moves, in one
    transaction under the payment's row lock (the notification path takes the same lock and
    recognises the refund by its key, so whichever comes second changes nothing)."""
    refund = db.session.get(Refund, refund_id, populate_existing=True)
    payment = lock_payment(refund.payment_id)
    db.session.refresh(refund)
    if refund.status != RefundStatus.PENDING:
        db.session.commit()  # its notification came first
        return
    mark_refund_succeeded(refund, answer)
    db.session.flush()
    total = max(succeeded_refunds(payment.id), payment.refunded)
    target = map_midtrans_status(str(answer.get("transaction_status") or ""), None)
    if target not in REFUND_STATUSES:
        target = PaymentStatus.REFUND if total >= payment.amount else PaymentStatus.PARTIAL_REFUND
    truth = {**answer, "refund_amount": f"{total}.00"}
    event = PaymentEvent.of_answer(payment.id, source, answer, target)
    db.session.add(event)
    db.session.flush()
    transition = apply_status(payment, target, truth, event, refund=refund)
    _finish_event(event, transition.outcome, f"refund {refund.id} of {refund.amount}: {target}")
    db.session.commit()
    metrics.refund_ended("succeeded")
    enqueue(transition.delivery_ids)


def _record_failure(refund_id: str, message: str) -> None:
    refund = db.session.get(Refund, refund_id, populate_existing=True)
    payment = lock_payment(refund.payment_id)
    db.session.refresh(refund)
    if refund.status != RefundStatus.PENDING:
        db.session.commit()
        return
    refund.status = RefundStatus.FAILED
    refund.failure_message = (message or "refused")[:500]
    refund.finished_at = utcnow()
    refund.next_check_at = None
    delivery = record_payment_event(
        payment,
        EventType.REFUND_FAILED,
        refund.finished_at,
        f"refund.failed:{refund.id}",
        refund_id=refund.id,
        refund_amount=refund.amount,
        reason=refund.reason,
        failure_message=refund.failure_message,
    )
    due = due_now(delivery)
    db.session.commit()
    metrics.refund_ended("failed")
    log.info("refund %s refused by Midtrans: %s", refund_id, message)
    enqueue(due)


def _finish_event(event: PaymentEvent, outcome, detail: str) -> None:
    event.outcome = outcome
    event.http_status = 200
    event.detail = detail[:500]
    event.processed_at = utcnow()


# -- pending refunds -------------------------------------------------------------------------


def check_pending_refunds(now: datetime | None = None) -> int:
    """Drive refunds whose Midtrans call had no answer to an end. Returns how many ended."""
    now = now or utcnow()
    due = db.session.execute(
        select(Refund.id, Refund.created_at, Payment.purchase_id, Payment.environment)
        .join(Payment, Payment.id == Refund.payment_id)
        .where(Refund.status == RefundStatus.PENDING, Refund.next_check_at <= now)
        .order_by(Refund.next_check_at)
        .limit(CHECK_BATCH)
    ).all()
    db.session.rollback()
    ended = 0
    for refund_id, created_at, purchase_id, environment in due:
        try:
            if _check_one(refund_id, purchase_id, environment):
                ended += 1
                continue
        except (MidtransError, MidtransUnavailableError) as exc:
            db.session.rollback()
            log.warning("pending refund %s: Midtrans did not answer (%s)", refund_id, exc)
        wait = min(max((now - created_at) / 2, FIRST_CHECK_AFTER), LONGEST_CHECK_INTERVAL)
        refund = db.session.get(Refund, refund_id, populate_existing=True)
        if refund.status == RefundStatus.PENDING:
            refund.next_check_at = now + wait
        db.session.commit()
    return ended


def _check_one(refund_id: str, purchase_id: str, environment: Environment) -> bool:
    """True once the refund is no longer pending."""
    client = MidtransClient.for_environment(environment)
    truth = client.get_status(
        purchase_id, timeout=current_app.config["MIDTRANS_STATUS_TIMEOUT_SECONDS"]
    )
    listed = truth.get("refunds") if isinstance(truth.get("refunds"), list) else []
    made = [entry for entry in listed if isinstance(entry, dict)]
    entry = next((entry for entry in made if entry.get("refund_key") == refund_id), None)
    if entry is not None:
        # The transaction's fields, with this refund's own (its chargeback id).
        answer = {**truth, "refund_chargeback_id": entry.get("refund_chargeback_id")}
        _record_success(refund_id, answer, "refund_check")
        return True
    if truth.get("transaction_status") not in ("settlement", "partial_refund"):
        _record_failure(
            refund_id,
            f"the transaction is {truth.get('transaction_status')!r} at Midtrans and lists no "
            "refund under this key",
        )
        return True
    _ask_midtrans(refund_id, purchase_id, environment)
    refund = db.session.get(Refund, refund_id, populate_existing=True)
    return refund.status != RefundStatus.PENDING
