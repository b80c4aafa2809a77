"""Sending an event again: a fresh retry schedule, with the same webhook-id and body."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update

from app.errors import NotFoundError, ValidationError
from app.extensions import db
from app.models import DeliveryStatus, Environment, WebhookDelivery
from app.models.base import utcnow
from app.services.outbox import state
from app.services.outbox.endpoints import endpoint_for, has_url
from app.services.outbox.queue import enqueue


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
    one statement and enqueued after its commit (those with nowhere to go wait for a URL).
    Returns how many."""
    url_set = has_url(endpoint_for(project_id, environment))
    failed = (
        WebhookDelivery.project_id == project_id,
        WebhookDelivery.environment == environment,
        WebhookDelivery.status == DeliveryStatus.FAILED,
        WebhookDelivery.created_at >= since,
    )
    # A checkout's own webhook_url needs no endpoint URL.
    deliverable = () if url_set else (WebhookDelivery.url.is_not(None),)
    now = utcnow()
    ids = list(
        db.session.scalars(
            update(WebhookDelivery)
            .where(*failed, *deliverable)
            .values(**state.scheduled(True, now))
            .returning(WebhookDelivery.id)
        )
    )
    waiting = 0
    if not url_set:
        waiting = db.session.execute(
            update(WebhookDelivery).where(*failed).values(**state.scheduled(False, now))
        ).rowcount
    db.session.commit()
    enqueue(ids)
    return len(ids) + waiting


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
        raise NotFoundError("no webhook event %(id)s", id=repr(delivery_id))
    if delivery.status == DeliveryStatus.DELIVERING and delivery.leased_until > utcnow():
        db.session.rollback()
        raise ValidationError("this event is being delivered right now")
    _reset(delivery)
    db.session.commit()
    enqueue([delivery.id] if delivery.status == DeliveryStatus.PENDING else [])
    return delivery


def _reset(delivery: WebhookDelivery) -> None:
    url_set = delivery.url is not None or has_url(
        endpoint_for(delivery.project_id, delivery.environment)
    )
    state.apply(delivery, state.scheduled(url_set, utcnow()))
