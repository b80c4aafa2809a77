"""Delivering one webhook event: claim it, sign it, POST it, log the attempt, decide what next.

Called by the RQ worker (app.jobs.deliver_webhook). The database is the source of truth: a
delivery is claimed with a lease, so a second job for it, or a sweeper's re-enqueue, does nothing
while the first holds it, and a worker killed mid-delivery only delays it until the lease ends.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from flask import current_app
from sqlalchemy import or_, update

from app.extensions import db
from app.models import WebhookAttempt, WebhookDelivery
from app.models.base import utcnow
from app.services.outbox import state, transport
from app.services.outbox.endpoints import endpoint_for, has_url, signing_secrets
from app.services.outbox.queue import enqueue
from app.services.outbox.schedule import retry_delay
from app.services.outbox.signing import signature_header

log = logging.getLogger(__name__)


def deliver(delivery_id: str) -> str:
    """One attempt, if the delivery is due and nobody else holds it. Returns what happened."""
    config = current_app.config
    timeout = config["WEBHOOK_TIMEOUT_SECONDS"]
    if not _claim(delivery_id, lease=timedelta(seconds=2 * timeout + 5)):
        return "skipped"
    delivery = db.session.get(WebhookDelivery, delivery_id)
    endpoint = endpoint_for(delivery.project_id, delivery.environment)
    if not has_url(endpoint):
        state.apply(delivery, state.unclaimed_for_lack_of_url(delivery.attempt_count))
        db.session.commit()
        return str(delivery.status)

    body = delivery.body.encode()
    timestamp = int(time.time())  # fresh on every attempt; the id and body never change
    headers = {
        "Content-Type": "application/json",
        "webhook-id": delivery.id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature_header(
            signing_secrets(endpoint, utcnow()), delivery.id, timestamp, body
        ),
    }
    url, number = endpoint.url, delivery.attempt_count
    # Logged before it is made, so an attempt cut short by a dying worker still shows.
    attempt = WebhookAttempt(
        delivery_id=delivery_id,
        number=number,
        started_at=utcnow(),
        url=url[:2000],
        duration_ms=0,
        error="interrupted: the worker stopped before an answer was recorded",
    )
    db.session.add(attempt)
    db.session.commit()  # no transaction stays open across the merchant's response time

    result = transport.post(
        url, body, headers, timeout, allow_private=config["WEBHOOK_ALLOW_PRIVATE_TARGETS"]
    )

    delivery = db.session.get(WebhookDelivery, delivery_id)
    attempt.http_status = result.http_status
    attempt.duration_ms = result.duration_ms
    attempt.error = _failure_reason(result)
    attempt.response_excerpt = result.excerpt
    retry_in = _decide(delivery, result, config["WEBHOOK_RETRY_SCHEDULE"])
    db.session.commit()
    log.info(
        "webhook %s attempt %d to %s: %s (%s ms) -> %s",
        delivery_id,
        number,
        url,
        result.http_status or result.error,
        result.duration_ms,
        delivery.status,
    )
    if retry_in is not None:
        enqueue([delivery_id], delay_seconds=retry_in)
    return str(delivery.status)


def _claim(delivery_id: str, lease: timedelta) -> bool:
    now = utcnow()
    claimed = db.session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.id == delivery_id,
            WebhookDelivery.status.in_(state.CLAIMABLE),
            WebhookDelivery.next_attempt_at <= now,
            or_(WebhookDelivery.leased_until.is_(None), WebhookDelivery.leased_until < now),
        )
        .values(**state.claimed(now, lease))
    ).rowcount
    db.session.commit()
    return claimed == 1


def _failure_reason(result: transport.PostResult) -> str | None:
    """Why an attempt did not succeed, in words for the attempt log; None for a 2xx."""
    status = result.http_status
    if result.error is not None:
        return result.error[:500]
    if 200 <= status < 300:
        return None
    if status == 410:
        return "HTTP 410 Gone: retries stopped"
    if 300 <= status < 400:
        return f"HTTP {status}: redirects are not followed"
    return f"HTTP {status}"


def _decide(
    delivery: WebhookDelivery, result: transport.PostResult, schedule: tuple[int, ...]
) -> float | None:
    """Record the outcome on the delivery; the delay before the next attempt, if any."""
    now = utcnow()
    error = _failure_reason(result)
    if error is None:
        state.apply(delivery, state.delivered(now))
        return None
    delay = (
        None
        if result.http_status == 410
        else retry_delay(delivery.attempt_count, schedule, result.retry_after)
    )
    if delay is None:
        if result.http_status != 410:
            error = f"gave up after {delivery.attempt_count} attempts; last: {error}"
        state.apply(delivery, state.failed(now, error))
        return None
    state.apply(delivery, state.retrying(now + timedelta(seconds=delay), error))
    return delay
