"""The merchant says what became of the order (SPEC §11.5): completed once the money is in,
or cancelled; either is final."""

from __future__ import annotations

import json

from app.errors import InvalidStateError, ValidationError
from app.extensions import db
from app.models import (
    EventOutcome,
    EventType,
    FulfilmentStatus,
    Payment,
    PaymentEvent,
    PaymentStatus,
)
from app.models.base import utcnow
from app.services.outbox.events import due_now, record_payment_event
from app.services.outbox.queue import enqueue
from app.services.payments.read import find_payment
from app.services.payments.state import require_status
from app.services.scope import Scope

FINAL = {
    FulfilmentStatus.COMPLETED: EventType.ORDER_COMPLETED,
    FulfilmentStatus.CANCELLED: EventType.ORDER_CANCELLED,
}
PAID = (PaymentStatus.SETTLEMENT, PaymentStatus.PARTIAL_REFUND)


def read_fulfilment(value: object) -> FulfilmentStatus:
    names = ", ".join(str(status) for status in FINAL)
    if not isinstance(value, str) or value not in {str(status) for status in FINAL}:
        raise ValidationError("status must be one of %(names)s", "status", names=names)
    return FulfilmentStatus(value)


def set_fulfilment(
    scope: Scope, reference: str, wanted: FulfilmentStatus, requested_by: str = "api"
) -> Payment:
    """The payment with its fulfilment set. The same value again changes nothing."""
    payment = find_payment(scope, reference, lock=True)
    if payment.fulfilment_status == wanted:
        db.session.rollback()
        return payment
    if payment.fulfilment_status != FulfilmentStatus.UNFULFILLED:
        raise InvalidStateError(
            "the order of payment %(purchase_id)s is already %(status)s: that is final",
            purchase_id=payment.purchase_id,
            status=str(payment.fulfilment_status),
        )
    if wanted == FulfilmentStatus.COMPLETED:
        require_status(payment, PAID, "marked completed")
    now = utcnow()
    payment.fulfilment_status = wanted
    payment.fulfilled_at = now
    db.session.add(
        PaymentEvent(
            payment_id=payment.id,
            source="fulfilment",
            raw_body=json.dumps({"status": str(wanted)}),
            headers={},
            received_at=now,
            outcome=EventOutcome.APPLIED,
            http_status=200,
            detail=f"order {wanted} by {requested_by[:200]}",
            processed_at=now,
        )
    )
    event_type = FINAL[wanted]
    delivery = record_payment_event(payment, event_type, now, f"{event_type}:{payment.id}")
    due = due_now(delivery)
    db.session.commit()
    enqueue(due)
    return payment
