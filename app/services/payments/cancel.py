"""Cancel a pending checkout (SPEC §11.3): ended at Midtrans first, then here.

No lock is held across the Midtrans call. If Midtrans has no transaction yet (the buyer never
chose a method) the cancel is ours alone, and /pay/<purchase_id> stops sending buyers to
Midtrans because it only does so for pending payments. Money Midtrans confirms afterwards
anyway (a Snap page left open) is still applied: app/services/checkout/status.py lets cancel
move to settlement for a payment that was never paid."""

from __future__ import annotations

import logging

from flask import current_app

from app.errors import UnavailableError, UpstreamError
from app.extensions import db
from app.midtrans.client import (
    MidtransClient,
    MidtransError,
    MidtransNotFoundError,
    MidtransUnavailableError,
)
from app.midtrans.payment_types import CANCELLED_NOT_EXPIRED
from app.models import Payment, PaymentEvent, PaymentStatus
from app.models.base import utcnow
from app.services.checkout.status import apply_status, lock_payment
from app.services.outbox.queue import enqueue
from app.services.payments.read import find_payment
from app.services.payments.state import require_status
from app.services.scope import Scope

log = logging.getLogger(__name__)

CANCELLABLE = (PaymentStatus.PENDING,)


def cancel_payment(scope: Scope, reference: str, requested_by: str = "api") -> Payment:
    """The cancelled payment; InvalidStateError unless pending, UpstreamError (nothing
    changed) when Midtrans could not end its transaction."""
    payment = find_payment(scope, reference)
    require_status(payment, CANCELLABLE, "cancelled")
    payment_id, purchase_id = payment.id, payment.purchase_id
    action = "cancel" if payment.midtrans_payment_type in CANCELLED_NOT_EXPIRED else "expire"
    try:
        client = MidtransClient.for_environment(payment.environment)
    except MidtransUnavailableError as exc:
        raise UnavailableError(str(exc)) from None
    db.session.rollback()  # no transaction stays open across the Midtrans call
    timeout = current_app.config["MIDTRANS_ACTION_TIMEOUT_SECONDS"]
    try:
        answer = getattr(client, action)(purchase_id, timeout=timeout)
        detail = f"ended at Midtrans by {action}"
    except MidtransNotFoundError as exc:
        answer = {"status_code": "404", "status_message": exc.message}
        detail = "Midtrans had no transaction yet: cancelled here only"
    except MidtransError as exc:
        log.warning("cancel of %s: Midtrans %s failed: %s", purchase_id, action, exc)
        if action == "cancel":
            raise UpstreamError(
                "Midtrans could not cancel the transaction (%(answer)s); nothing changed",
                answer=exc.message,
            ) from None
        raise UpstreamError(
            "Midtrans could not expire the transaction (%(answer)s); nothing changed",
            answer=exc.message,
        ) from None
    payment = lock_payment(payment_id)
    # Settled while Midtrans was asked? Its own notification won: say so.
    require_status(payment, CANCELLABLE, "cancelled")
    event = PaymentEvent.of_answer(payment.id, "cancel", answer, "cancel")
    db.session.add(event)
    db.session.flush()
    # The answer is Midtrans's record of the transaction; the status is ours: cancel.
    transition = apply_status(payment, PaymentStatus.CANCEL, answer, event)
    event.outcome = transition.outcome
    event.http_status = 200
    event.detail = f"cancelled by {requested_by[:200]}: {detail}"
    event.processed_at = utcnow()
    db.session.commit()
    log.info("payment %s cancelled (%s)", purchase_id, detail)
    enqueue(transition.delivery_ids)
    return payment
