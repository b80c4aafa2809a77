"""Delivering one webhook event: claim it, sign it, POST it, log the attempt, decide what next.

Called by the RQ worker (app.jobs.deliver_webhook). The database is the source of truth: a
delivery is claimed with a lease, so a second job for it, or a sweeper's re-enqueue, does nothing
while the first holds it, and a worker killed mid-delivery only delays it until the lease ends.

No endpoint holds more than its share of the workers (circuit.py): the claim first locks the
endpoint's row, then counts its attempts in flight and reads its circuit; a delivery that may
not go now is deferred (still pending, a few seconds later, or to the circuit's end), not tried.
Every transaction here takes the endpoint's lock before the delivery's row, so they queue up
rather than deadlock.

Two short transactions per attempt, in Core statements (a flash sale makes thousands of these a
minute; the ORM's unit of work cost more than the rest of a delivery): the claim, which also
logs the attempt before it is made, and the outcome. None is open while the merchant answers.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import Row, func, insert, or_, select, update

from app import metrics
from app.extensions import db
from app.models import (
    DeliveryStatus,
    EndpointFailure,
    EventType,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from app.models.base import utcnow
from app.models.webhook import ATTEMPT_INTERRUPTED
from app.services.outbox import circuit, state, transport
from app.services.outbox.endpoints import signing_secrets
from app.services.outbox.queue import enqueue
from app.services.outbox.schedule import retry_delay
from app.services.outbox.signing import signature_header

log = logging.getLogger(__name__)

DELIVERIES = WebhookDelivery.__table__
ATTEMPTS = WebhookAttempt.__table__
ENDPOINTS = WebhookEndpoint.__table__

TEST_EVENT_ONCE = "a test event is sent once, never retried"
TEST_EVENT_LOST = "the attempt was interrupted before an answer was recorded; " + TEST_EVENT_ONCE


@dataclass(frozen=True)
class _Claim:
    """A delivery this worker holds under its lease, with its attempt already logged."""

    delivery_id: str
    event_type: EventType
    attempt_count: int  # this attempt's number
    body: bytes
    url: str
    endpoint: Row  # the endpoint's row as the claim read it, under its lock
    attempt_id: int


def deliver(delivery_id: str) -> str:
    """One attempt, if the delivery is due, nobody else holds it and its endpoint has room.
    Returns what happened: skipped, deferred, or the delivery's status after the attempt."""
    config = current_app.config
    timeout = config["WEBHOOK_TIMEOUT_SECONDS"]
    claim = _claim(
        delivery_id,
        lease=timedelta(seconds=2 * timeout + 5),
        limit=config["WEBHOOK_MAX_IN_FLIGHT_PER_ENDPOINT"],
    )
    if not isinstance(claim, _Claim):
        return claim

    timestamp = int(time.time())  # fresh on every attempt; the id and body never change
    headers = {
        "Content-Type": "application/json",
        "webhook-id": delivery_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature_header(
            signing_secrets(claim.endpoint, utcnow()), delivery_id, timestamp, claim.body
        ),
    }
    allow_private = config["WEBHOOK_ALLOW_PRIVATE_TARGETS"]
    result = transport.post(claim.url, claim.body, headers, timeout, allow_private=allow_private)
    status, retry_in = _record(claim, result, config["WEBHOOK_RETRY_SCHEDULE"])
    log.info(
        "webhook %s attempt %d to %s: %s (%s ms) -> %s",
        delivery_id,
        claim.attempt_count,
        claim.url,
        result.http_status or result.error,
        result.duration_ms,
        status,
    )
    if retry_in is not None:
        enqueue([delivery_id], delay_seconds=retry_in)
    return str(status)


def _claim(delivery_id: str, lease: timedelta, limit: int) -> _Claim | str:
    """Claim the delivery and log its attempt (a _Claim), or defer it ("deferred",
    re-enqueued for later), or leave it ("skipped": not due, or held by another worker; or
    "waiting_for_endpoint": no URL to send it to), in one transaction."""
    now = utcnow()
    session = db.session
    delivery = session.execute(
        select(
            DELIVERIES.c.status,
            DELIVERIES.c.next_attempt_at,
            DELIVERIES.c.leased_until,
            DELIVERIES.c.project_id,
            DELIVERIES.c.environment,
            DELIVERIES.c.event_type,
            DELIVERIES.c.attempt_count,
            DELIVERIES.c.url,
        ).where(DELIVERIES.c.id == delivery_id)
    ).first()
    if delivery is None or not _looks_due(delivery, now):
        # A second job for it, or one for a time not come yet: no lock taken for nothing.
        session.rollback()
        return "skipped"
    if delivery.event_type != EventType.TEST and _in_flight(delivery, now) >= limit:
        # The slots are taken as far as a read without the lock can tell: deferred at once,
        # without queueing for the endpoint's lock behind its slot holders (in a merchant's
        # burst, every other worker's job would wait there, to defer in the end anyway).
        return _defer(delivery_id, _due_where(delivery_id, now), circuit.no_slot_until(now), now)
    # Serialises every claim for this endpoint, in every worker process: the count below
    # cannot change under us, so two claims never both take the last slot.
    endpoint = session.execute(
        select(ENDPOINTS)
        .where(
            ENDPOINTS.c.project_id == delivery.project_id,
            ENDPOINTS.c.environment == delivery.environment,
        )
        .with_for_update()
    ).first()
    due = _due_where(delivery_id, now)
    if delivery.event_type == EventType.TEST and delivery.attempt_count > 0:
        # Its one attempt was made by a worker that died before recording the answer.
        changed = _update(due, state.failed(now, TEST_EVENT_LOST)) is not None
        if changed:
            _mark_interrupted(delivery_id)
        session.commit()
        return "failed" if changed else "skipped"
    if endpoint is None or not (delivery.url or endpoint.url):
        # The URL was removed since it was scheduled: kept until one is set, no attempt made.
        changed = _update(due, state.unclaimed_for_lack_of_url(delivery.attempt_count + 1))
        session.commit()
        return str(DeliveryStatus.WAITING_FOR_ENDPOINT) if changed is not None else "skipped"
    hold = circuit.hold_until(endpoint, _in_flight(delivery, now), limit, now)
    if hold is not None:
        why = "circuit open" if circuit.is_open(endpoint, now) else "no free slot"
        return _defer(delivery_id, due, hold, now, why)
    claimed = _update(due, state.claimed(now, lease), DELIVERIES.c.attempt_count, DELIVERIES.c.body)
    if claimed is None:
        session.commit()
        return "skipped"
    number, body = claimed
    if number > 1:
        _mark_interrupted(delivery_id)  # an earlier attempt whose worker died: say so for good
    url = delivery.url or endpoint.url  # a checkout's own webhook_url, else the endpoint's
    # Logged before it is made, so an attempt cut short by a dying worker still shows.
    attempt_id = session.execute(
        insert(ATTEMPTS)
        .values(
            delivery_id=delivery_id,
            number=number,
            started_at=utcnow(),
            url=url[:2000],
            duration_ms=0,
            error=None,  # read as "sending" under the lease, "interrupted" after (attempt_note)
        )
        .returning(ATTEMPTS.c.id)
    ).scalar_one()
    session.commit()  # no transaction stays open across the merchant's response time
    return _Claim(
        delivery_id, delivery.event_type, number, body.encode(), url, endpoint, attempt_id
    )


def _due_where(delivery_id: str, now: datetime) -> tuple:
    """The delivery, if it is still due and nobody holds it (what every claim's UPDATE asks)."""
    return (
        DELIVERIES.c.id == delivery_id,
        DELIVERIES.c.status.in_(state.CLAIMABLE),
        DELIVERIES.c.next_attempt_at <= now,
        or_(DELIVERIES.c.leased_until.is_(None), DELIVERIES.c.leased_until < now),
    )


def _defer(
    delivery_id: str, due: tuple, hold: datetime, now: datetime, why: str = "no free slot"
) -> str:
    """Due again at `hold`, with no attempt made (committed), and its job enqueued for then."""
    changed = _update(due, state.deferred(hold)) is not None
    db.session.commit()
    if not changed:
        return "skipped"
    log.info("webhook %s deferred until %s: endpoint %s", delivery_id, hold.isoformat(), why)
    enqueue([delivery_id], delay_seconds=max((hold - now).total_seconds(), 0.1))
    return "deferred"


def _record(
    claim: _Claim, result: transport.PostResult, schedule: tuple[int, ...]
) -> tuple[DeliveryStatus, float | None]:
    """The attempt's outcome on the attempt, the delivery and the endpoint's circuit, in one
    transaction; the delivery's status and the delay before its next attempt, if any."""
    session = db.session
    now = utcnow()
    endpoint_id = claim.endpoint.id
    if result.failure is None:
        if result.http_status is not None:
            # An answer closes the circuit; most often it is closed already, and then this
            # matches no row and locks nothing.
            closed = circuit.closed()
            session.execute(
                update(ENDPOINTS)
                .where(
                    ENDPOINTS.c.id == endpoint_id,
                    or_(
                        ENDPOINTS.c.consecutive_failures != 0,
                        ENDPOINTS.c.failure_kind.is_not(None),
                        ENDPOINTS.c.circuit_open_until.is_not(None),
                    ),
                )
                .values(**closed)
            )
    else:
        # A failure counts against the circuit as it is now, not as the claim read it:
        # locked (before the delivery, as every transaction here) and read again.
        endpoint = session.execute(
            select(ENDPOINTS).where(ENDPOINTS.c.id == endpoint_id).with_for_update()
        ).first()
        values = circuit.after_attempt(endpoint, result, now) if endpoint is not None else {}
        if values:
            session.execute(update(ENDPOINTS).where(ENDPOINTS.c.id == endpoint_id).values(**values))
    values, retry_in = _decide(claim, result, schedule, now)
    session.execute(update(DELIVERIES).where(DELIVERIES.c.id == claim.delivery_id).values(**values))
    session.execute(
        update(ATTEMPTS)
        .where(ATTEMPTS.c.id == claim.attempt_id)
        .values(
            http_status=result.http_status,
            duration_ms=result.duration_ms,
            error=_failure_reason(result),
            response_excerpt=result.excerpt,
        )
    )
    session.commit()
    metrics.webhook_attempted(_attempt_result(result))
    return values["status"], retry_in


def _attempt_result(result: transport.PostResult) -> str:
    """The attempt's result as /metrics counts it."""
    if result.http_status is not None:
        return "delivered" if 200 <= result.http_status < 300 else "http_error"
    if result.failure == EndpointFailure.TIMEOUT:
        return "timeout"
    if result.failure is not None:
        return "unreachable"
    return "refused"  # the address guard stopped it before any connection


def _mark_interrupted(delivery_id: str) -> None:
    """Attempts of this delivery that never got an answer (their worker died under the lease,
    which has now run out: this delivery was claimed again) read "interrupted" from now on."""
    db.session.execute(
        update(ATTEMPTS)
        .where(
            ATTEMPTS.c.delivery_id == delivery_id,
            ATTEMPTS.c.http_status.is_(None),
            ATTEMPTS.c.error.is_(None),
        )
        .values(error=ATTEMPT_INTERRUPTED)
    )


def _looks_due(delivery: Row, now: datetime) -> bool:
    """Due and free as last read (the claim's conditional UPDATE is what decides)."""
    return (
        delivery.status in state.CLAIMABLE
        and delivery.next_attempt_at is not None
        and delivery.next_attempt_at <= now
        and (delivery.leased_until is None or delivery.leased_until < now)
    )


def _update(where: tuple, values: dict[str, Any], *returning) -> tuple | None:
    """Update the delivery if it is still as `where` says: the `returning` columns' values
    (an empty tuple when none are asked for), or None when it was not as `where` says."""
    statement = update(DELIVERIES).where(*where).values(**values)
    row = db.session.execute(statement.returning(DELIVERIES.c.id, *returning)).first()
    return None if row is None else tuple(row[1:])


def _in_flight(delivery: Row, now: datetime) -> int:
    """Attempts to this delivery's endpoint under a live lease (one endpoint per project
    environment), through the (project_id, environment, status, …) index."""
    return db.session.scalar(
        select(func.count())
        .select_from(DELIVERIES)
        .where(
            DELIVERIES.c.project_id == delivery.project_id,
            DELIVERIES.c.environment == delivery.environment,
            DELIVERIES.c.status == DeliveryStatus.DELIVERING,
            DELIVERIES.c.leased_until > now,
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
    claim: _Claim, result: transport.PostResult, schedule: tuple[int, ...], now: datetime
) -> tuple[dict[str, Any], float | None]:
    """The delivery's values after this outcome, and the delay before its next attempt."""
    error = _failure_reason(result)
    if error is None:
        return state.delivered(now), None
    if claim.event_type == EventType.TEST:
        return state.failed(now, f"{error} ({TEST_EVENT_ONCE})"[:500]), None
    delay = (
        None
        if result.http_status == 410
        else retry_delay(claim.attempt_count, schedule, result.retry_after)
    )
    if delay is None:
        if result.http_status != 410:
            error = f"gave up after {claim.attempt_count} attempts; last: {error}"
        return state.failed(now, error), None
    return state.retrying(now + timedelta(seconds=delay), error), delay
