"""The platform's health at a glance: is a worker alive, how late are the merchants'
webhooks, how many were given up on, and when did Midtrans last call each environment.

Scoped across all tenants on purpose: this is the operator's view of the whole platform (the
operator console and `flask doctor`), never a merchant's. It only reads, and a Redis that does
not answer is reported as unreachable (the workers then unknown), never raised: the database
half still answers, and is what the operator needs most when Redis is away."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from redis.exceptions import RedisError
from rq import Worker
from rq.defaults import DEFAULT_WORKER_TTL
from sqlalchemy import func, or_, select

from app.extensions import db, redis_connection
from app.models import (
    DeliveryStatus,
    Environment,
    EventOutcome,
    EventType,
    Payment,
    PaymentEvent,
    WebhookDelivery,
)
from app.models.base import utcnow

# An idle RQ worker heartbeats once per blocking dequeue, every worker_ttl - 15 seconds (405 s
# with RQ's default ttl, which app/worker.py keeps), and RQ itself forgets a worker whose last
# heartbeat is worker_ttl + 60 seconds old. A shorter window would call a healthy idle worker
# dead most of the time; this one is RQ's own.
HEARTBEAT_WINDOW = timedelta(seconds=DEFAULT_WORKER_TTL + 60)


@dataclass(frozen=True)
class WorkerBeat:
    """One RQ worker as RQ's registry in Redis lists it."""

    name: str
    hostname: str | None
    pid: int | None
    last_heartbeat: datetime | None
    alive: bool  # its last heartbeat is within HEARTBEAT_WINDOW


@dataclass(frozen=True)
class Workers:
    """The workers RQ knows, or why they are unknown (Redis did not answer)."""

    reachable: bool
    beats: tuple[WorkerBeat, ...] = ()
    error: str | None = None

    @property
    def alive(self) -> tuple[WorkerBeat, ...]:
        return tuple(beat for beat in self.beats if beat.alive)

    @property
    def any_alive(self) -> bool | None:
        """True or False; None when Redis did not answer, so nobody can tell."""
        return bool(self.alive) if self.reachable else None

    @property
    def last_heartbeat(self) -> datetime | None:
        moments = [beat.last_heartbeat for beat in self.beats if beat.last_heartbeat]
        return max(moments, default=None)


@dataclass(frozen=True)
class DueDelivery:
    """A webhook delivery that should be attempted now and is not being attempted."""

    delivery_id: str
    project_id: str
    environment: Environment
    event_type: EventType
    due_since: datetime
    attempt_count: int


@dataclass(frozen=True)
class LastNotification:
    """The newest Midtrans notification that Lunas could place in an environment (its
    signature verified against a payment of that environment)."""

    environment: Environment
    received_at: datetime | None
    outcome: EventOutcome | None


@dataclass(frozen=True)
class PlatformHealth:
    checked_at: datetime
    workers: Workers
    due_count: int
    oldest_due: DueDelivery | None
    failed_count: int  # merchant events given up on (test pings not counted)
    last_notifications: tuple[LastNotification, ...]  # one per Environment, in its order
    # Notifications no environment can be named for (no such order, a signature that did not
    # verify): Midtrans, or someone, is calling the notification URL.
    last_unplaced_notification_at: datetime | None

    @property
    def oldest_due_age(self) -> timedelta | None:
        if self.oldest_due is None:
            return None
        return max(self.checked_at - self.oldest_due.due_since, timedelta(0))

    def last_notification(self, environment: Environment) -> LastNotification:
        return next(last for last in self.last_notifications if last.environment == environment)


def platform_health(now: datetime | None = None) -> PlatformHealth:
    """Everything at once, as the operator console shows it."""
    now = now or utcnow()
    try:
        due_count, oldest_due = due_deliveries(now)
        health = PlatformHealth(
            checked_at=now,
            workers=worker_heartbeats(now),
            due_count=due_count,
            oldest_due=oldest_due,
            failed_count=failed_delivery_count(),
            last_notifications=tuple(last_notification(env) for env in Environment),
            last_unplaced_notification_at=last_unplaced_notification_at(),
        )
    finally:
        db.session.rollback()  # reads only: end the transaction they opened
    return health


def worker_heartbeats(now: datetime | None = None) -> Workers:
    """RQ's worker registry (`rq.Worker.all`) with each worker's last heartbeat."""
    now = now or utcnow()
    try:
        registered = Worker.all(connection=redis_connection())
    except RedisError as exc:
        return Workers(reachable=False, error=str(exc) or type(exc).__name__)
    beats = tuple(
        WorkerBeat(
            name=worker.name,
            hostname=worker.hostname,
            pid=worker.pid,
            last_heartbeat=worker.last_heartbeat,
            alive=worker.last_heartbeat is not None
            and now - worker.last_heartbeat <= HEARTBEAT_WINDOW,
        )
        for worker in registered
    )
    return Workers(reachable=True, beats=tuple(sorted(beats, key=_newest_first)))


def _newest_first(beat: WorkerBeat) -> float:
    return -beat.last_heartbeat.timestamp() if beat.last_heartbeat else 0.0


def _is_due(now: datetime):
    """What the worker would claim now (app/services/outbox/delivery.py's claim): pending and
    due (a retry is pending with a later due time), or delivering under a lease that ran out
    (its worker died)."""
    return or_(
        (WebhookDelivery.status == DeliveryStatus.PENDING)
        & (WebhookDelivery.next_attempt_at <= now),
        (WebhookDelivery.status == DeliveryStatus.DELIVERING)
        & (WebhookDelivery.leased_until < now),
    )


def due_deliveries(now: datetime | None = None) -> tuple[int, DueDelivery | None]:
    """How many deliveries are due, and the one due the longest."""
    now = now or utcnow()
    count = (
        db.session.scalar(select(func.count()).select_from(WebhookDelivery).where(_is_due(now)))
        or 0
    )
    oldest = db.session.scalars(
        select(WebhookDelivery)
        .where(_is_due(now))
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
        .limit(1)
    ).first()
    if oldest is None:
        return count, None
    return count, DueDelivery(
        delivery_id=oldest.id,
        project_id=oldest.project_id,
        environment=oldest.environment,
        event_type=oldest.event_type,
        due_since=oldest.next_attempt_at,
        attempt_count=oldest.attempt_count,
    )


def failed_delivery_count() -> int:
    """Merchant events Lunas gave up on (the schedule ran out, or 410 Gone). Test pings are
    left out: they are attempted once by design, and a merchant trying a wrong URL is not a
    platform problem."""
    return (
        db.session.scalar(
            select(func.count())
            .select_from(WebhookDelivery)
            .where(
                WebhookDelivery.status == DeliveryStatus.FAILED,
                WebhookDelivery.event_type != EventType.TEST,
            )
        )
        or 0
    )


def last_notification(environment: Environment) -> LastNotification:
    """The newest notification placed in `environment`. A notification carries no
    environment of its own: it is the environment of the payment its verified signature
    joined it to. Newest by id (the insertion order), so PostgreSQL walks the primary key
    backwards and stops at the first match."""
    row = db.session.execute(
        select(PaymentEvent.received_at, PaymentEvent.outcome)
        .join(Payment, Payment.id == PaymentEvent.payment_id)
        .where(PaymentEvent.source == "notification", Payment.environment == environment)
        .order_by(PaymentEvent.id.desc())
        .limit(1)
    ).first()
    if row is None:
        return LastNotification(environment, None, None)
    return LastNotification(environment, row.received_at, row.outcome)


def last_unplaced_notification_at() -> datetime | None:
    # Ordered as the partial index of unverified events (received_at, id) is.
    return db.session.scalar(
        select(PaymentEvent.received_at)
        .where(PaymentEvent.source == "notification", PaymentEvent.payment_id.is_(None))
        .order_by(PaymentEvent.received_at.desc(), PaymentEvent.id.desc())
        .limit(1)
    )
