"""The only code that talks to RQ: hand deliveries to the worker after the commit that made
them due, and sweep the database for due deliveries that no job carries.

Jobs are enqueued by dotted path, so nothing here imports the RQ entry points (app/jobs.py
imports the delivery service; an import back would be a cycle)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from redis.exceptions import RedisError
from sqlalchemy import or_, select

from app.extensions import db, queue
from app.models import DeliveryStatus, WebhookDelivery
from app.models.base import utcnow

log = logging.getLogger(__name__)

DELIVER_JOB = "app.jobs.deliver_webhook"
# A due delivery younger than this probably still has its RQ job on the way; older ones are
# re-enqueued by the sweeper (a second job is harmless: only one can claim the delivery).
SWEEP_GRACE = timedelta(seconds=10)
SWEEP_BATCH = 500


def enqueue(delivery_ids: list[str], delay_seconds: float = 0) -> None:
    """Hand deliveries to RQ. Call only after the commit that created them; if Redis is
    down nothing is lost: the sweeper finds due deliveries in the database."""
    if not delivery_ids:
        return
    try:
        jobs_queue = queue()
        for delivery_id in delivery_ids:
            if delay_seconds > 0:
                jobs_queue.enqueue_in(timedelta(seconds=delay_seconds), DELIVER_JOB, delivery_id)
            else:
                jobs_queue.enqueue(DELIVER_JOB, delivery_id)
    except RedisError as exc:
        log.warning(
            "could not enqueue %d deliveries: %s (the sweeper will)", len(delivery_ids), exc
        )


def sweep(now: datetime | None = None) -> int:
    """Re-enqueue deliveries that are due but carried by no job: Redis was down, a job was
    lost, or a worker died holding the delivery (its lease ran out). A deferred delivery (no
    free slot, an open circuit) is pending with a later due time, so it is found here too
    once that time has come, whether or not its delayed job ever ran.

    While the queue itself holds SWEEP_BATCH jobs or more, the workers are behind (a
    merchant's burst), not short of jobs: a due delivery then most likely has its job waiting
    in that queue, and a second one for each would only make the queue longer. Only expired
    leases are swept then; the other due deliveries once the queue is shorter."""
    now = now or utcnow()
    leased_out = (WebhookDelivery.status == DeliveryStatus.DELIVERING) & (
        WebhookDelivery.leased_until < now
    )
    overdue = (WebhookDelivery.status == DeliveryStatus.PENDING) & (
        WebhookDelivery.next_attempt_at <= now - SWEEP_GRACE
    )
    waiting = _waiting_jobs()
    behind = waiting is not None and waiting >= SWEEP_BATCH
    due = list(
        db.session.scalars(
            select(WebhookDelivery.id)
            .where(leased_out if behind else or_(overdue, leased_out))
            .order_by(WebhookDelivery.next_attempt_at)
            .limit(SWEEP_BATCH)
        )
    )
    db.session.rollback()
    enqueue(due)
    return len(due)


def _waiting_jobs() -> int | None:
    """Jobs waiting in the queue, or None when Redis does not answer."""
    try:
        return queue().count
    except RedisError:
        return None
