"""Outbound merchant events: recorded in the same transaction as the status change that
caused them, enqueued to RQ only after commit, and swept from the database if RQ lost them."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from redis.exceptions import RedisError
from sqlalchemy import or_, select, update

from app.extensions import db, queue
from app.models import (
    DeliveryStatus,
    Environment,
    EventType,
    Payment,
    PaymentStatus,
    PaymentStatusChange,
    WebhookDelivery,
    WebhookEndpoint,
)
from app.models.base import iso_utc, utcnow
from app.security import decrypt, encrypt, random_token
from app.services import NotFoundError, ValidationError
from app.services.checkout import DIRECT_ITEM_ID

log = logging.getLogger(__name__)

# A due delivery younger than this probably still has its RQ job on the way; older ones are
# re-enqueued by the sweeper (a second job is harmless: only one can claim the delivery).
SWEEP_GRACE = timedelta(seconds=10)
SWEEP_BATCH = 500


def record_payment_events(
    payment: Payment, previous: PaymentStatus, change: PaymentStatusChange
) -> list[str]:
    """The merchant events a status change causes, added to the caller's transaction.
    Returns the ids of those due now (an event with no URL to go to waits for one)."""
    target = PaymentStatus(change.to_status)
    if target == PaymentStatus.SETTLEMENT:
        kinds = [(EventType.ITEM_PURCHASED, f"item.purchased:{payment.id}")]
    elif target in (PaymentStatus.REFUND, PaymentStatus.PARTIAL_REFUND) and payment.paid_at:
        kinds = [(EventType.PAYMENT_REFUNDED, f"payment.refunded:{change.id}")]
    elif target == PaymentStatus.CANCEL and previous == PaymentStatus.SETTLEMENT:
        kinds = [(EventType.PAYMENT_REVERSED, f"payment.reversed:{payment.id}")]
    else:
        kinds = []
    due = []
    for event_type, dedupe_key in kinds:
        payload = payment_payload(payment, event_type, change.created_at)
        delivery = new_delivery(
            payment.project_id, payment.environment, event_type, payload, payment.id, dedupe_key
        )
        if delivery.status == DeliveryStatus.PENDING:
            due.append(delivery.id)
    return due


def payment_payload(payment: Payment, event_type: EventType, changed_at: datetime) -> dict:
    payload: dict[str, Any] = {
        "event": str(event_type),
        "order_id": payment.order_id,
        "item_id": DIRECT_ITEM_ID,
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
    }
    if event_type != EventType.ITEM_PURCHASED:
        payload["status"] = str(payment.status)
        payload["changed_at"] = iso_utc(changed_at)
    return payload


def new_delivery(
    project_id: str,
    environment: str,
    event_type: EventType,
    payload: dict,
    payment_id: int | None = None,
    dedupe_key: str | None = None,
) -> WebhookDelivery:
    endpoint = endpoint_for(project_id, Environment(environment))
    has_url = _has_url(endpoint)
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
        status=DeliveryStatus.PENDING if has_url else DeliveryStatus.WAITING_FOR_ENDPOINT,
        attempt_count=0,
        next_attempt_at=now if has_url else None,
        created_at=now,
    )
    db.session.add(delivery)
    return delivery


def enqueue(delivery_ids: list[str], delay_seconds: float = 0) -> None:
    """Hand deliveries to RQ. Call only after the commit that created them; if Redis is
    down nothing is lost: the sweeper finds due deliveries in the database."""
    if not delivery_ids:
        return
    from app import jobs

    try:
        jobs_queue = queue()
        for delivery_id in delivery_ids:
            if delay_seconds > 0:
                jobs_queue.enqueue_in(
                    timedelta(seconds=delay_seconds), jobs.deliver_webhook, delivery_id
                )
            else:
                jobs_queue.enqueue(jobs.deliver_webhook, delivery_id)
    except RedisError as exc:
        log.warning(
            "could not enqueue %d deliveries: %s (the sweeper will)", len(delivery_ids), exc
        )


def sweep(now: datetime | None = None) -> int:
    """Re-enqueue deliveries that are due but carried by no job: Redis was down, a job was
    lost, or a worker died holding the delivery (its lease ran out)."""
    now = now or utcnow()
    due = list(
        db.session.scalars(
            select(WebhookDelivery.id)
            .where(
                or_(
                    (WebhookDelivery.status == DeliveryStatus.PENDING)
                    & (WebhookDelivery.next_attempt_at <= now - SWEEP_GRACE),
                    (WebhookDelivery.status == DeliveryStatus.DELIVERING)
                    & (WebhookDelivery.leased_until < now),
                )
            )
            .order_by(WebhookDelivery.next_attempt_at)
            .limit(SWEEP_BATCH)
        )
    )
    db.session.rollback()
    enqueue(due)
    return len(due)


def resend(delivery_id: str) -> WebhookDelivery:
    """Start a delivery's schedule again (after `failed`, or to send a delivered one again)."""
    return _resend(delivery_id)


def resend_in_project(
    project_id: str, environment: Environment, delivery_id: str
) -> WebhookDelivery:
    """resend, for an event of this project environment only (any other: NotFoundError)."""
    return _resend(
        delivery_id,
        WebhookDelivery.project_id == project_id,
        WebhookDelivery.environment == environment,
    )


def resend_failed_since(project_id: str, environment: Environment, since: datetime) -> int:
    """Every failed event of this project environment created at or after `since`, reset in
    one statement and enqueued after its commit. Returns how many."""
    has_url = _has_url(endpoint_for(project_id, environment))
    now = utcnow()
    ids = list(
        db.session.scalars(
            update(WebhookDelivery)
            .where(
                WebhookDelivery.project_id == project_id,
                WebhookDelivery.environment == environment,
                WebhookDelivery.status == DeliveryStatus.FAILED,
                WebhookDelivery.created_at >= since,
            )
            .values(
                status=DeliveryStatus.PENDING if has_url else DeliveryStatus.WAITING_FOR_ENDPOINT,
                attempt_count=0,
                next_attempt_at=now if has_url else None,
                leased_until=None,
                finished_at=None,
                last_error=None,
            )
            .returning(WebhookDelivery.id)
        )
    )
    db.session.commit()
    enqueue(ids if has_url else [])
    return len(ids)


def send_test_event(project_id: str, environment: Environment) -> WebhookDelivery:
    """A test.ping to the configured URL, recorded and delivered like any real event."""
    if not _has_url(endpoint_of(project_id, environment)):
        raise ValidationError("set a webhook URL before sending a test event", field="url")
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


def list_deliveries(status: str | None = None, limit: int = 50) -> list[WebhookDelivery]:
    query = select(WebhookDelivery).order_by(WebhookDelivery.created_at.desc()).limit(limit)
    if status:
        query = query.where(WebhookDelivery.status == status)
    return list(db.session.scalars(query))


def endpoint_for(project_id: str, environment: Environment) -> WebhookEndpoint | None:
    return db.session.scalar(
        select(WebhookEndpoint).where(
            WebhookEndpoint.project_id == project_id,
            WebhookEndpoint.environment == environment,
        )
    )


def signing_secrets(endpoint: WebhookEndpoint, now: datetime) -> list[str]:
    secrets = [decrypt(endpoint.secret_ciphertext)]
    if (
        endpoint.previous_secret_ciphertext
        and endpoint.previous_secret_expires_at
        and endpoint.previous_secret_expires_at > now
    ):
        secrets.append(decrypt(endpoint.previous_secret_ciphertext))
    return secrets


def set_endpoint_url(project_id: str, environment: Environment, url: str | None) -> list[str]:
    """Change the URL; events that were waiting for one become due now. Returns their ids."""
    from app.services.projects import validate_webhook_url

    endpoint = endpoint_of(project_id, environment)
    endpoint.url = validate_webhook_url(url)
    released: list[str] = []
    if endpoint.url:
        released = list(
            db.session.scalars(
                update(WebhookDelivery)
                .where(
                    WebhookDelivery.project_id == project_id,
                    WebhookDelivery.environment == environment,
                    WebhookDelivery.status == DeliveryStatus.WAITING_FOR_ENDPOINT,
                )
                .values(status=DeliveryStatus.PENDING, next_attempt_at=utcnow())
                .returning(WebhookDelivery.id)
            )
        )
    db.session.commit()
    enqueue(released)
    return released


def rotate_secret(project_id: str, environment: Environment) -> str:
    """A new signing secret; the old one keeps signing beside it for the grace period."""
    from app.services.projects import new_webhook_secret

    endpoint = endpoint_of(project_id, environment)
    secret = new_webhook_secret()
    grace = timedelta(hours=current_app.config["CREDENTIAL_GRACE_HOURS"])
    endpoint.previous_secret_ciphertext = endpoint.secret_ciphertext
    endpoint.previous_secret_expires_at = utcnow() + grace
    endpoint.secret_ciphertext = encrypt(secret)
    db.session.commit()
    return secret


def endpoint_of(project_id: str, environment: Environment) -> WebhookEndpoint:
    """The project environment's endpoint (NotFoundError for a project that does not exist)."""
    endpoint = endpoint_for(project_id, environment)
    if endpoint is None:
        raise NotFoundError(f"no project {project_id!r}")
    return endpoint


def _has_url(endpoint: WebhookEndpoint | None) -> bool:
    return endpoint is not None and bool(endpoint.url)


def _resend(delivery_id: str, *scope) -> WebhookDelivery:
    # Locked with fresh values: a worker claiming it at this moment either finished its
    # claim (we see `delivering` and refuse) or waits for our commit (and then re-checks).
    delivery = db.session.scalar(
        select(WebhookDelivery)
        .where(WebhookDelivery.id == delivery_id, *scope)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if delivery is None:
        db.session.rollback()
        raise NotFoundError(f"no webhook event {delivery_id!r}")
    if delivery.status == DeliveryStatus.DELIVERING and delivery.leased_until > utcnow():
        db.session.rollback()
        raise ValidationError("this event is being delivered right now")
    _reset(delivery)
    db.session.commit()
    enqueue([delivery.id] if delivery.status == DeliveryStatus.PENDING else [])
    return delivery


def _reset(delivery: WebhookDelivery) -> None:
    endpoint = endpoint_for(delivery.project_id, Environment(delivery.environment))
    has_url = _has_url(endpoint)
    delivery.status = DeliveryStatus.PENDING if has_url else DeliveryStatus.WAITING_FOR_ENDPOINT
    delivery.attempt_count = 0
    delivery.next_attempt_at = utcnow() if has_url else None
    delivery.leased_until = None
    delivery.finished_at = None
    delivery.last_error = None
