"""Delivering one webhook event: claim it, sign it, POST it, log the attempt, decide what next.

Called by the RQ worker (app.jobs.deliver_webhook). The database is the source of truth: a
delivery is claimed with a lease, so a second job for it, or a sweeper's re-enqueue, does nothing
while the first holds it, and a worker killed mid-delivery only delays it until the lease ends.

No endpoint holds more than its share of the workers (circuit.py): the claim first locks the
endpoint's row, then counts its attempts in flight and reads its circuit; a delivery that may
not go now is deferred (still pending, a few seconds later, or to the circuit's end), not tried.
Every transaction here takes the endpoint's lock before the delivery's row, so they queue up
rather than deadlock.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from flask import current_app
from sqlalchemy import func, or_, select, update

from app.extensions import db
from app.models import DeliveryStatus, EventType, WebhookAttempt, WebhookDelivery
from app.models.base import utcnow
from app.models.webhook import ATTEMPT_INTERRUPTED
from app.services.outbox import circuit, state, transport
from app.services.outbox.endpoints import endpoint_for, lock_endpoint, signing_secrets
from app.services.outbox.queue import enqueue
from app.services.outbox.schedule import retry_delay
from app.services.outbox.signing import signature_header

log = logging.getLogger(__name__)


TEST_EVENT_ONCE = "a test event is sent once, never retried"
TEST_EVENT_LOST = "the attempt was interrupted before an answer was recorded; " + TEST_EVENT_ONCE


def deliver(delivery_id: str) -> str:
    """One attempt, if the delivery is due, nobody else holds it and its endpoint has room.
    Returns what happened: skipped, deferred, or the delivery's status after the attempt."""
    config = current_app.config
    timeout = config["WEBHOOK_TIMEOUT_SECONDS"]
    outcome = _claim(
        delivery_id,
        lease=timedelta(seconds=2 * timeout + 5),
        limit=config["WEBHOOK_MAX_IN_FLIGHT_PER_ENDPOINT"],
    )
    if outcome != "claimed":
        return outcome
    delivery = db.session.get(WebhookDelivery, delivery_id)
    endpoint = endpoint_for(delivery.project_id, delivery.environment)
    if endpoint is None or not (delivery.url or endpoint.url):
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
    # A checkout's own webhook_url, else the endpoint's (SPEC §11.1).
    url, number = delivery.url or endpoint.url, delivery.attempt_count
    _mark_interrupted(delivery_id)  # an earlier attempt whose worker died: say so for good
    # Logged before it is made, so an attempt cut short by a dying worker still shows.
    attempt = WebhookAttempt(
        delivery_id=delivery_id,
        number=number,
        started_at=utcnow(),
        url=url[:2000],
        duration_ms=0,
        error=None,  # read as "sending" under the lease, "interrupted" after (attempt_note)
    )
    db.session.add(attempt)
    db.session.commit()  # no transaction stays open across the merchant's response time

    result = transport.post(
        url, body, headers, timeout, allow_private=config["WEBHOOK_ALLOW_PRIVATE_TARGETS"]
    )

    endpoint = lock_endpoint(delivery.project_id, delivery.environment)  # before the delivery
    delivery = db.session.get(WebhookDelivery, delivery_id)
    attempt.http_status = result.http_status
    attempt.duration_ms = result.duration_ms
    attempt.error = _failure_reason(result)
    attempt.response_excerpt = result.excerpt
    retry_in = _decide(delivery, result, config["WEBHOOK_RETRY_SCHEDULE"])
    circuit.apply(endpoint, circuit.after_attempt(endpoint, result, utcnow()))
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


def _mark_interrupted(delivery_id: str) -> None:
    """Attempts of this delivery that never got an answer (their worker died under the lease,
    which has now run out: this delivery was claimed again) read "interrupted" from now on."""
    db.session.execute(
        update(WebhookAttempt)
        .where(
            WebhookAttempt.delivery_id == delivery_id,
            WebhookAttempt.http_status.is_(None),
            WebhookAttempt.error.is_(None),
        )
        .values(error=ATTEMPT_INTERRUPTED)
    )


def _claim(delivery_id: str, lease: timedelta, limit: int) -> str:
    """Claim the delivery ("claimed"), or defer it ("deferred", re-enqueued for later), or
    leave it ("skipped": not due, or held by another worker), in one transaction."""
    now = utcnow()
    delivery = db.session.get(WebhookDelivery, delivery_id)
    if delivery is None or not _looks_due(delivery, now):
        # A second job for it, or one for a time not come yet: no lock taken for nothing.
        db.session.rollback()
        return "skipped"
    # Serialises every claim for this endpoint, in every worker process: the count below
    # cannot change under us, so two claims never both take the last slot.
    endpoint = lock_endpoint(delivery.project_id, delivery.environment)
    due = (
        WebhookDelivery.id == delivery_id,
        WebhookDelivery.status.in_(state.CLAIMABLE),
        WebhookDelivery.next_attempt_at <= now,
        or_(WebhookDelivery.leased_until.is_(None), WebhookDelivery.leased_until < now),
    )
    if delivery.event_type == EventType.TEST and delivery.attempt_count > 0:
        # Its one attempt was made by a worker that died before recording the answer.
        changed = _update(due, state.failed(now, TEST_EVENT_LOST))
        if changed:
            _mark_interrupted(delivery_id)
        db.session.commit()
        return "failed" if changed else "skipped"
    hold = None
    if endpoint is not None:
        hold = circuit.hold_until(endpoint, _in_flight(delivery, now), limit, now)
    if hold is None:
        changed = _update(due, state.claimed(now, lease))
        db.session.commit()
        return "claimed" if changed else "skipped"
    why = "circuit open" if circuit.is_open(endpoint, now) else "no free slot"
    changed = _update(due, state.deferred(hold))
    db.session.commit()
    if not changed:
        return "skipped"
    log.info("webhook %s deferred until %s: endpoint %s", delivery_id, hold.isoformat(), why)
    enqueue([delivery_id], delay_seconds=max((hold - now).total_seconds(), 0.1))
    return "deferred"


def _looks_due(delivery: WebhookDelivery, now) -> bool:
    """Due and free as last read (the claim's conditional UPDATE is what decides)."""
    return (
        delivery.status in state.CLAIMABLE
        and delivery.next_attempt_at is not None
        and delivery.next_attempt_at <= now
        and (delivery.leased_until is None or delivery.leased_until < now)
    )


def _update(where: tuple, values: dict) -> bool:
    return db.session.execute(update(WebhookDelivery).where(*where).values(**values)).rowcount == 1


def _in_flight(delivery: WebhookDelivery, now) -> int:
    """Attempts to this delivery's endpoint under a live lease (one endpoint per project
    environment), through the (project_id, environment, status, …) index."""
    return db.session.scalar(
        select(func.count())
        .select_from(WebhookDelivery)
        .where(
            WebhookDelivery.project_id == delivery.project_id,
            WebhookDelivery.environment == delivery.environment,
            WebhookDelivery.status == DeliveryStatus.DELIVERING,
            WebhookDelivery.leased_until > now,
        )
    )


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
    if delivery.event_type == EventType.TEST:
        state.apply(delivery, state.failed(now, f"{error} ({TEST_EVENT_ONCE})"[:500]))
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
