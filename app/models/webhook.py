"""Outbound merchant events (item.purchased, …), their delivery state, and every attempt."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, BigId, EnumText, UTCDateTime, utcnow
from app.models.project import Environment


class EventType(StrEnum):
    ITEM_PURCHASED = "item.purchased"
    PAYMENT_REFUNDED = "payment.refunded"
    PAYMENT_REVERSED = "payment.reversed"
    PAYMENT_EXPIRED = "payment.expired"
    PAYMENT_CANCELLED = "payment.cancelled"
    REFUND_FAILED = "refund.failed"
    ORDER_COMPLETED = "order.completed"
    ORDER_CANCELLED = "order.cancelled"
    TEST = "test.ping"


# Sent to every endpoint that never chose (SPEC §11.6): receivers written for Part I, which
# never read `event`, see nothing new. The others go only where they were subscribed.
DEFAULT_EVENTS = (EventType.ITEM_PURCHASED, EventType.PAYMENT_REFUNDED, EventType.PAYMENT_REVERSED)


class DeliveryStatus(StrEnum):
    WAITING_FOR_ENDPOINT = "waiting_for_endpoint"  # no URL configured yet: kept, not sent
    PENDING = "pending"  # due at next_attempt_at
    DELIVERING = "delivering"  # claimed by a worker until leased_until
    DELIVERED = "delivered"
    FAILED = "failed"  # gave up (schedule exhausted, 410 Gone); can be resent


class WebhookDelivery(Base):
    """One event for one project environment. Its id is the `webhook-id` header, stable
    across retries, and its body is frozen at creation: every attempt sends these bytes."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_status_next", "status", "next_attempt_at"),
        # The portal's delivery log (migration 0006): keyset pages, with or without a status.
        Index(
            "ix_webhook_deliveries_project_env_created",
            "project_id",
            "environment",
            "created_at",
            "id",
        ),
        Index(
            "ix_webhook_deliveries_project_env_status_created",
            "project_id",
            "environment",
            "status",
            "created_at",
            "id",
        ),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"), index=True)
    environment: Mapped[Environment] = mapped_column(EnumText(Environment, 16))
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"), index=True)
    event_type: Mapped[EventType] = mapped_column(EnumText(EventType, 40))
    # The database enforces "at most one item.purchased per payment" (and likewise for the
    # other kinds) through this unique key.
    dedupe_key: Mapped[str | None] = mapped_column(String(120), unique=True)
    body: Mapped[str] = mapped_column(Text)
    # Set when the checkout named its own webhook_url (SPEC §11.1): it goes there instead of
    # the endpoint's URL, signed with the endpoint's secret.
    url: Mapped[str | None] = mapped_column(String(2000))
    status: Mapped[DeliveryStatus] = mapped_column(EnumText(DeliveryStatus, 24))
    attempt_count: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    leased_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    attempts = relationship(
        "WebhookAttempt", back_populates="delivery", order_by="WebhookAttempt.id"
    )


class WebhookAttempt(Base):
    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    delivery_id: Mapped[str] = mapped_column(ForeignKey("webhook_deliveries.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    url: Mapped[str] = mapped_column(String(2000))
    http_status: Mapped[int | None] = mapped_column(Integer)
    duration_ms: Mapped[int] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(500))
    response_excerpt: Mapped[str | None] = mapped_column(Text)

    delivery = relationship("WebhookDelivery", back_populates="attempts")


ATTEMPT_SENDING = "sending: waiting for the endpoint's answer"
ATTEMPT_INTERRUPTED = "interrupted: the worker stopped before an answer was recorded"


def attempt_note(
    error: str | None,
    http_status: int | None,
    number: int,
    delivery: WebhookDelivery,
    now: datetime,
) -> str | None:
    """What an attempt's error column says to a person. An attempt is written before its
    request goes out (so one cut short by a dying worker still shows), with no status and no
    error yet: that is "sending" while its worker still holds the delivery, and "interrupted"
    once the lease ran out without an answer."""
    if error is not None or http_status is not None:
        return error
    in_flight = (
        delivery.status == DeliveryStatus.DELIVERING
        and delivery.leased_until is not None
        and delivery.leased_until > now
        and number == delivery.attempt_count
    )
    return ATTEMPT_SENDING if in_flight else ATTEMPT_INTERRUPTED
