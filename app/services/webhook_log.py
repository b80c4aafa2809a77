"""The portal's read side of outbound webhooks for one project environment: the endpoint's
settings, the delivery log (keyset pages, with every attempt loaded in one query) and one
event in full. Every lookup is scoped by project and environment."""

from __future__ import annotations

import base64
import binascii
import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import defer

from app.extensions import db
from app.models import (
    DeliveryStatus,
    Environment,
    EventType,
    Payment,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from app.models.base import utcnow
from app.services import NotFoundError
from app.services.webhooks import endpoint_of, signing_secrets

PAGE_SIZE = 50
EXCERPT_PREVIEW = 300  # characters of each response shown in the list; the detail shows 2 KB
_DELIVERY_ID = re.compile(r"evt_[A-Za-z0-9]{1,36}")


@dataclass(frozen=True)
class SigningSecrets:
    current: str
    previous: str | None  # still signs beside the current one until previous_expires_at
    previous_expires_at: datetime | None


@dataclass(frozen=True)
class AttemptSummary:
    number: int
    started_at: datetime
    http_status: int | None
    duration_ms: int
    error: str | None
    excerpt: str | None


@dataclass(frozen=True)
class DeliveryPage:
    deliveries: list[WebhookDelivery]
    attempts: dict[str, list[AttemptSummary]]
    older: str | None  # cursor for ?before=
    newer: str | None  # cursor for ?after=


@dataclass(frozen=True)
class DeliveryDetail:
    delivery: WebhookDelivery
    attempts: list[WebhookAttempt]
    purchase_id: str | None


def reveal_signing_secrets(project_id: str, environment: Environment) -> SigningSecrets:
    endpoint = endpoint_of(project_id, environment)
    current, *previous = signing_secrets(endpoint, utcnow())
    if not previous:
        return SigningSecrets(current, None, None)
    return SigningSecrets(current, previous[0], endpoint.previous_secret_expires_at)


def previous_secret_until(endpoint: WebhookEndpoint) -> datetime | None:
    """While a rotation's grace runs: until when the previous secret still signs."""
    until = endpoint.previous_secret_expires_at
    if endpoint.previous_secret_ciphertext and until and until > utcnow():
        return until
    return None


def waiting_count(project_id: str, environment: Environment) -> int:
    """Events kept until a URL is set."""
    return db.session.scalar(
        select(func.count())
        .select_from(WebhookDelivery)
        .where(
            WebhookDelivery.project_id == project_id,
            WebhookDelivery.environment == environment,
            WebhookDelivery.status == DeliveryStatus.WAITING_FOR_ENDPOINT,
        )
    )


def delivery_page(
    project_id: str,
    environment: Environment,
    status: str | None = None,
    event_type: str | None = None,
    before: str | None = None,
    after: str | None = None,
    limit: int = PAGE_SIZE,
) -> DeliveryPage:
    """Newest first, `limit` at a time, on (created_at, id). `before`/`after` are cursors from
    an earlier page; an unknown filter value or a malformed cursor reads as none given."""
    query = (
        select(WebhookDelivery)
        .options(defer(WebhookDelivery.body))
        .where(WebhookDelivery.project_id == project_id, WebhookDelivery.environment == environment)
    )
    if status in set(DeliveryStatus):
        query = query.where(WebhookDelivery.status == status)
    if event_type in set(EventType):
        query = query.where(WebhookDelivery.event_type == event_type)
    newest_first = (WebhookDelivery.created_at.desc(), WebhookDelivery.id.desc())
    older_than, newer_than = decode_cursor(before), decode_cursor(after)
    if newer_than is not None:
        rows = list(
            db.session.scalars(
                query.where(_after(newer_than))
                .order_by(WebhookDelivery.created_at, WebhookDelivery.id)
                .limit(limit + 1)
            )
        )
        more_newer, rows = len(rows) > limit, rows[:limit][::-1]
        more_older = True  # the page this cursor came from
    else:
        if older_than is not None:
            query = query.where(_before(older_than))
        rows = list(db.session.scalars(query.order_by(*newest_first).limit(limit + 1)))
        more_older, rows = len(rows) > limit, rows[:limit]
        more_newer = older_than is not None
    return DeliveryPage(
        deliveries=rows,
        attempts=_attempts_of([row.id for row in rows]),
        older=encode_cursor(rows[-1]) if rows and more_older else None,
        newer=encode_cursor(rows[0]) if rows and more_newer else None,
    )


def delivery_detail(project_id: str, environment: Environment, delivery_id: str) -> DeliveryDetail:
    row = db.session.execute(
        select(WebhookDelivery, Payment.purchase_id)
        .outerjoin(
            Payment,
            and_(Payment.id == WebhookDelivery.payment_id, Payment.project_id == project_id),
        )
        .where(
            WebhookDelivery.id == delivery_id,
            WebhookDelivery.project_id == project_id,
            WebhookDelivery.environment == environment,
        )
    ).first()
    if row is None:
        raise NotFoundError(f"no webhook event {delivery_id!r}")
    delivery, purchase_id = row
    attempts = db.session.scalars(
        select(WebhookAttempt)
        .where(WebhookAttempt.delivery_id == delivery.id)
        .order_by(WebhookAttempt.id)
    )
    return DeliveryDetail(delivery, list(attempts), purchase_id)


def encode_cursor(delivery: WebhookDelivery) -> str:
    raw = f"{delivery.created_at.isoformat()}|{delivery.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(token: str | None) -> tuple[datetime, str] | None:
    """(created_at, id) from encode_cursor, or None for anything else."""
    if not token or len(token) > 200:
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        moment, delivery_id = raw.split("|")
        created_at = datetime.fromisoformat(moment)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    if created_at.tzinfo is None or not _DELIVERY_ID.fullmatch(delivery_id):
        return None
    return created_at, delivery_id


def _before(cursor: tuple[datetime, str]):
    created_at, delivery_id = cursor
    # The plain bound on created_at makes the index range start at the cursor; the OR only
    # settles ties on created_at by id (as the payments list does, app/services/reports.py).
    return and_(
        WebhookDelivery.created_at <= created_at,
        or_(
            WebhookDelivery.created_at < created_at,
            and_(WebhookDelivery.created_at == created_at, WebhookDelivery.id < delivery_id),
        ),
    )


def _after(cursor: tuple[datetime, str]):
    created_at, delivery_id = cursor
    return and_(
        WebhookDelivery.created_at >= created_at,
        or_(
            WebhookDelivery.created_at > created_at,
            and_(WebhookDelivery.created_at == created_at, WebhookDelivery.id > delivery_id),
        ),
    )


def _attempts_of(delivery_ids: list[str]) -> dict[str, list[AttemptSummary]]:
    """Every attempt of these deliveries in one query, with a preview of each response."""
    attempts: dict[str, list[AttemptSummary]] = defaultdict(list)
    if not delivery_ids:
        return attempts
    rows = db.session.execute(
        select(
            WebhookAttempt.delivery_id,
            WebhookAttempt.number,
            WebhookAttempt.started_at,
            WebhookAttempt.http_status,
            WebhookAttempt.duration_ms,
            WebhookAttempt.error,
            func.substr(WebhookAttempt.response_excerpt, 1, EXCERPT_PREVIEW),
        )
        .where(WebhookAttempt.delivery_id.in_(delivery_ids))
        .order_by(WebhookAttempt.delivery_id, WebhookAttempt.id)
    )
    for delivery_id, *fields in rows:
        attempts[delivery_id].append(AttemptSummary(*fields))
    return attempts
