"""Merchant events: written in the same transaction as the status change that caused them
(if the change commits, so do they; if it rolls back, nothing was promised), with a body
frozen at creation, and handed to the queue only after commit."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from app.errors import ValidationError
from app.extensions import db
from app.models import (
    DeliveryStatus,
    Environment,
    EventType,
    Payment,
    PaymentStatus,
    PaymentStatusChange,
    Refund,
    WebhookDelivery,
)
from app.models.base import iso_utc, utcnow
from app.security import random_token
from app.services.outbox import state
from app.services.outbox.endpoints import endpoint_for, endpoint_of, has_url, subscribed
from app.services.outbox.queue import enqueue
from app.services.outbox.test_event_limit import count_test_event


def record_payment_events(
    payment: Payment,
    previous: PaymentStatus,
    change: PaymentStatusChange,
    refund: Refund | None = None,
    refunded_before: int = 0,
    delivery: dict[str, str] | None = None,
) -> list[str]:
    """The merchant events a status change causes, added to the caller's transaction (only
    those the endpoint subscribed to, SPEC §11.6). Returns the ids of those due now (an event
    with no URL to go to waits for one). `delivery` is the buyer's link a settlement of an
    item with a delivery issued (SPEC §13)."""
    target = change.to_status
    extra: dict[str, Any] = {}
    if target == PaymentStatus.SETTLEMENT:
        event_type, dedupe_key = EventType.ITEM_PURCHASED, f"item.purchased:{payment.id}"
        if delivery is not None:
            extra = {"delivery": delivery}
    elif target in (PaymentStatus.REFUND, PaymentStatus.PARTIAL_REFUND) and payment.paid_at:
        event_type, dedupe_key = EventType.PAYMENT_REFUNDED, f"payment.refunded:{change.id}"
        extra = {
            "refund_id": refund.id if refund else None,
            "refund_amount": refund.amount if refund else payment.refunded - refunded_before,
            "refunded_amount": payment.refunded,
        }
    elif target == PaymentStatus.CANCEL and previous == PaymentStatus.SETTLEMENT:
        event_type, dedupe_key = EventType.PAYMENT_REVERSED, f"payment.reversed:{payment.id}"
    elif target == PaymentStatus.CANCEL:
        event_type, dedupe_key = EventType.PAYMENT_CANCELLED, f"payment.cancelled:{payment.id}"
    elif target == PaymentStatus.EXPIRE:
        event_type, dedupe_key = EventType.PAYMENT_EXPIRED, f"payment.expired:{change.id}"
    else:
        return []
    return due_now(
        record_payment_event(payment, event_type, change.created_at, dedupe_key, **extra)
    )


def due_now(delivery: WebhookDelivery | None) -> list[str]:
    """The id to enqueue once the transaction commits: none for an event not recorded (not
    subscribed) or waiting for a URL."""
    return (
        [delivery.id] if delivery is not None and delivery.status == DeliveryStatus.PENDING else []
    )


def record_payment_event(
    payment: Payment,
    event_type: EventType,
    changed_at: datetime,
    dedupe_key: str,
    **extra: Any,
) -> WebhookDelivery | None:
    """One event about a payment, added to the caller's transaction, if the project
    environment's endpoint subscribed to its type (None when it did not)."""
    if not subscribed(endpoint_for(payment.project_id, payment.environment), event_type):
        return None
    payload = payment_payload(payment, event_type, changed_at)
    payload.update(extra)
    return new_delivery(
        payment.project_id,
        payment.environment,
        event_type,
        payload,
        payment.id,
        dedupe_key,
        url=payment.webhook_url,
    )


def payment_payload(payment: Payment, event_type: EventType, changed_at: datetime) -> dict:
    payload: dict[str, Any] = {
        "event": str(event_type),
        "order_id": payment.order_id,
        "item_id": payment.public_item_id,
        "item_name": payment.item_name,
        "buyer_email": payment.buyer_email,
        "buyer_name": payment.buyer_name,
        "amount": payment.amount,
        "currency": payment.currency,
        "paid_at": iso_utc(payment.paid_at),
        "metadata": payment.metadata_ or {},
        "purchase_id": payment.purchase_id,
        "environment": str(payment.environment),
        "payment_type": payment.midtrans_payment_type,
        "payment_channel": payment.payment_channel,
        "buyer_phone": payment.buyer_phone,
    }
    if payment.item_ref is not None:  # an item checkout (SPEC §13)
        payload["quantity"] = payment.quantity
    if event_type != EventType.ITEM_PURCHASED:
        payload["status"] = str(payment.status)
        payload["changed_at"] = iso_utc(changed_at)
    if event_type in (EventType.ORDER_COMPLETED, EventType.ORDER_CANCELLED):
        payload["fulfilment_status"] = str(payment.fulfilment_status)
    return payload


def new_delivery(
    project_id: str,
    environment: Environment,
    event_type: EventType,
    payload: dict,
    payment_id: int | None = None,
    dedupe_key: str | None = None,
    url: str | None = None,
) -> WebhookDelivery:
    """A new event, added to the caller's transaction: to `url` when its checkout named one,
    else to the endpoint's URL (waiting for one while there is none)."""
    now = utcnow()
    delivery = WebhookDelivery(
        id="evt_" + random_token(24),
        project_id=project_id,
        environment=environment,
        payment_id=payment_id,
        event_type=event_type,
        dedupe_key=dedupe_key,
        # Frozen now: every attempt sends exactly these bytes.
        body=json.dumps(payload, ensure_ascii=False, separators=(",", ":")),
        url=url,
        created_at=now,
    )
    has_destination = url is not None or has_url(endpoint_for(project_id, environment))
    state.apply(delivery, state.scheduled(has_destination, now))
    db.session.add(delivery)
    return delivery


def send_test_event(project_id: str, environment: Environment) -> WebhookDelivery:
    """A test.ping to the configured URL, recorded and delivered like any real event but
    attempted once only. TooManyTestEventsError past the limit (test_event_limit.py): then
    nothing is recorded or sent."""
    if not has_url(endpoint_of(project_id, environment)):
        raise ValidationError("set a webhook URL before sending a test event", field="url")
    count_test_event(project_id, environment)
    payload = {
        "event": str(EventType.TEST),
        "project_id": project_id,
        "environment": str(environment),
        "sent_at": iso_utc(utcnow()),
    }
    delivery = new_delivery(project_id, environment, EventType.TEST, payload)
    db.session.commit()
    enqueue([delivery.id] if delivery.status == DeliveryStatus.PENDING else [])
    return delivery
