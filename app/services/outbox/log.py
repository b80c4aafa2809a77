"""The portal's read side of outbound webhooks for one project environment: the delivery log
(keyset pages, with every attempt loaded in one query), one event in full, and the operator's
list of the newest events. Every portal lookup is scoped by project and environment."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, select
from sqlalchemy.orm import defer

from app.errors import NotFoundError
from app.extensions import db
from app.models import (
    DeliveryStatus,
    Environment,
    EventType,
    Payment,
    WebhookAttempt,
    WebhookDelivery,
)
from app.models.base import utcnow
from app.services.outbox import circuit
from app.services.outbox.endpoints import endpoint_for
from app.services.reporting.paging import Cursor, Keyset, Page

PAGE_SIZE = 50
EXCERPT_PREVIEW = 300  # characters of each response shown in the list; the detail shows 2 KB
_DELIVERY_ID = re.compile(r"evt_[A-Za-z0-9]{1,36}")


def _delivery_id(text: str) -> str | None:
    return text if _DELIVERY_ID.fullmatch(text) else None


KEYSET = Keyset(WebhookDelivery.created_at, WebhookDelivery.id, _delivery_id)


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
    page: Page
    attempts: dict[str, list[AttemptSummary]]

    @property
    def deliveries(self) -> list[WebhookDelivery]:
        return self.page.rows

    @property
    def older(self) -> Cursor | None:
        return self.page.older

    @property
    def newer(self) -> Cursor | None:
        return self.page.newer


@dataclass(frozen=True)
class DeliveryDetail:
    delivery: WebhookDelivery
    attempts: list[WebhookAttempt]
    purchase_id: str | None


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


def circuit_status(project_id: str, environment: Environment) -> circuit.CircuitView | None:
    """The endpoint's circuit when it is not closed (None while it is), with how many events
    are held for it."""
    endpoint = endpoint_for(project_id, environment)
    if endpoint is None or circuit.is_closed(endpoint):
        return None
    held = db.session.scalar(
        select(func.count())
        .select_from(WebhookDelivery)
        .where(
            WebhookDelivery.project_id == project_id,
            WebhookDelivery.environment == environment,
            WebhookDelivery.status == DeliveryStatus.PENDING,
        )
    )
    return circuit.view(endpoint, utcnow(), held)


def delivery_page(
    project_id: str,
    environment: Environment,
    status: str | None = None,
    event_type: str | None = None,
    after: Cursor | None = None,
    before: Cursor | None = None,
    limit: int = PAGE_SIZE,
) -> DeliveryPage:
    """Newest first, `limit` at a time (the paging module says what `after` and `before`
    mean). An unknown filter value reads as none given."""
    query = (
        select(WebhookDelivery)
        .options(defer(WebhookDelivery.body))
        .where(WebhookDelivery.project_id == project_id, WebhookDelivery.environment == environment)
    )
    if status in set(DeliveryStatus):
        query = query.where(WebhookDelivery.status == status)
    if event_type in set(EventType):
        query = query.where(WebhookDelivery.event_type == event_type)
    page = KEYSET.page(
        query,
        limit,
        after=after,
        before=before,
        fetch=lambda statement: list(db.session.scalars(statement)),
    )
    return DeliveryPage(page, _attempts_of([row.id for row in page.rows]))


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
        raise NotFoundError("no webhook event %(id)s", id=repr(delivery_id))
    delivery, purchase_id = row
    attempts = db.session.scalars(
        select(WebhookAttempt)
        .where(WebhookAttempt.delivery_id == delivery.id)
        .order_by(WebhookAttempt.id)
    )
    return DeliveryDetail(delivery, list(attempts), purchase_id)


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


def list_deliveries(status: str | None = None, limit: int = 50) -> list[WebhookDelivery]:
    """The newest events of every project (the operator's command line)."""
    query = select(WebhookDelivery).order_by(WebhookDelivery.created_at.desc()).limit(limit)
    if status:
        query = query.where(WebhookDelivery.status == status)
    return list(db.session.scalars(query))
