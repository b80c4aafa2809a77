"""Midtrans sends nothing when a Snap page expires unpaid: ask it about overdue payments."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import or_, select, update

from app.errors import ServiceError
from app.extensions import db
from app.midtrans.client import (
    MidtransClient,
    MidtransError,
    MidtransNotFoundError,
    MidtransUnavailableError,
)
from app.models import Environment, EventOutcome, Payment, PaymentEvent, PaymentStatus
from app.models.base import utcnow
from app.services.checkout.create import discard_creating
from app.services.checkout.notifications import apply_midtrans_state

log = logging.getLogger(__name__)

BATCH_SIZE = 200
# A row still "creating" after this long belongs to a request that died mid-checkout.
ABANDONED_CREATION = timedelta(minutes=10)
# A payment Midtrans still calls pending (or that could not be checked) is looked at again
# after this long, not on every run: each look costs a Get Status call and an event row.
RECHECK_AFTER = timedelta(minutes=30)


@dataclass
class JanitorReport:
    checked: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    errors: int = 0
    abandoned_removed: int = 0


def expire_stale_checkouts(now: datetime | None = None) -> JanitorReport:
    now = now or utcnow()
    report = JanitorReport()
    grace = timedelta(minutes=current_app.config["PENDING_GRACE_MINUTES"])
    overdue = db.session.execute(
        select(Payment.id, Payment.purchase_id, Payment.environment)
        .where(
            Payment.status == PaymentStatus.PENDING,
            Payment.expires_at < now - grace,
            or_(Payment.next_reconcile_at.is_(None), Payment.next_reconcile_at <= now),
        )
        .order_by(Payment.expires_at)
        .limit(BATCH_SIZE)
    ).all()
    for payment_id, purchase_id, environment in overdue:
        report.checked += 1
        try:
            outcome = _reconcile(payment_id, purchase_id, environment)
        except (MidtransError, MidtransUnavailableError, ServiceError) as exc:
            report.errors += 1
            log.warning("janitor could not reconcile %s: %s", purchase_id, exc)
        else:
            report.outcomes[outcome] = report.outcomes.get(outcome, 0) + 1
        db.session.rollback()
        db.session.execute(
            update(Payment)
            .where(Payment.id == payment_id, Payment.status == PaymentStatus.PENDING)
            .values(next_reconcile_at=now + RECHECK_AFTER)
        )
        db.session.commit()
    report.abandoned_removed = discard_creating(Payment.created_at < now - ABANDONED_CREATION)
    db.session.commit()
    return report


def _reconcile(payment_id: int, purchase_id: str, environment: Environment) -> EventOutcome:
    event = PaymentEvent(
        payment_id=payment_id, source="janitor", raw_body="", received_at=utcnow(), headers={}
    )
    db.session.add(event)
    db.session.commit()
    client = MidtransClient.for_environment(environment)
    try:
        truth = client.get_status(
            purchase_id, timeout=current_app.config["MIDTRANS_STATUS_TIMEOUT_SECONDS"]
        )
    except MidtransNotFoundError as exc:
        # Never chosen a payment method, never paid: Midtrans has no transaction at all.
        event.raw_body = json.dumps({"get_status": "not_found", "message": exc.message})
        return apply_midtrans_state(
            payment_id, {"order_id": purchase_id, "transaction_status": "expire"}, event
        )
    except MidtransError as exc:
        event.outcome = EventOutcome.UNCONFIRMED
        event.detail = exc.message
        event.processed_at = utcnow()
        db.session.commit()
        raise
    event.raw_body = json.dumps(truth)
    return apply_midtrans_state(payment_id, truth, event)
