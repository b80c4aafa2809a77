"""Unverified notification events: stored like every request, never linked to a payment.

A notification joins a payment's timeline only once its signature verifies
(notifications.process_notification). Everything else that arrives (forged signatures,
unknown orders, bodies that are not a notification, or ones that could not be checked for
want of a server key) stays here, on no merchant's page: the operator reads them
(/admin/notifications/unverified), and the worker deletes them once they are older than
UNVERIFIED_EVENT_RETENTION_DAYS, so that nobody can fill the database by posting forgeries.
Verified events are kept forever."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, func, select

from app.extensions import db
from app.models import PaymentEvent
from app.models.base import utcnow
from app.services.reporting.paging import Cursor, Keyset, Page

PAGE_SIZE = 50
# How much of a raw body the list shows (a body may be 64 KB): enough for any notification.
BODY_EXCERPT = 2000
PURGE_BATCH = 1000
# One pass deletes at most this many batches; the next pass (a minute later) goes on.
PURGE_BATCHES_PER_PASS = 20

_events = PaymentEvent.__table__.c
UNVERIFIED = _events.payment_id.is_(None)

_LIST_COLUMNS = (
    _events.id,
    _events.received_at,
    _events.remote_addr,
    _events.claimed_order_id,
    _events.transaction_status,
    _events.outcome,
    _events.http_status,
    _events.detail,
    func.substr(_events.raw_body, 1, BODY_EXCERPT).label("body_excerpt"),
    func.length(_events.raw_body).label("body_length"),
)


def _event_id(text: str) -> int | None:
    return int(text) if text.isdigit() and 0 < int(text) < 2**63 else None


KEYSET = Keyset(_events.received_at, _events.id, _event_id)


def unverified_page(after: Cursor | None = None, before: Cursor | None = None) -> Page:
    """One page of unverified events, newest received first (the paging module says what
    `after` and `before` mean). Rows carry the first BODY_EXCERPT characters of the raw body
    (`body_excerpt`) and its whole length (`body_length`), never the whole body."""
    query = select(*_LIST_COLUMNS).where(UNVERIFIED)
    return KEYSET.page(query, PAGE_SIZE, after=after, before=before)


def purge_unverified(now: datetime | None = None) -> int:
    """Delete unverified events received more than UNVERIFIED_EVENT_RETENTION_DAYS ago, in
    batches of PURGE_BATCH, each its own transaction (no long lock on a table that every
    notification writes to). How many were deleted."""
    days = current_app.config["UNVERIFIED_EVENT_RETENTION_DAYS"]
    cutoff = (now or utcnow()) - timedelta(days=days)
    old = (UNVERIFIED, _events.received_at < cutoff)
    deleted = 0
    for _ in range(PURGE_BATCHES_PER_PASS):
        batch = select(_events.id).where(*old).order_by(_events.received_at).limit(PURGE_BATCH)
        # The outer condition again: an event is never deleted once it is on a timeline. (An
        # unverified event was never applied, so no status change refers to it.)
        count = db.session.execute(
            delete(PaymentEvent.__table__).where(_events.id.in_(batch.scalar_subquery()), *old)
        ).rowcount
        db.session.commit()
        deleted += count
        if count < PURGE_BATCH:
            break
    return deleted
