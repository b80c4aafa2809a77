"""Money given back: one row per refund a merchant asked for, made before Midtrans is called."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, EnumText, UTCDateTime, utcnow
from app.models.project import Environment


class RefundStatus(StrEnum):
    PENDING = "pending"  # asked of Midtrans, no answer yet (it timed out or was unreachable)
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # Midtrans refused it: failure_message says why


class Refund(Base):
    """Its id is Midtrans's `refund_key`: a retried call with it can never refund twice."""

    __tablename__ = "refunds"
    __table_args__ = (
        Index("ix_refunds_payment_created", "payment_id", "created_at"),
        # The pending-refund check (app/services/payments/refunds.py) reads these.
        Index("ix_refunds_status_next_check", "status", "next_check_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"))
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"))
    environment: Mapped[Environment] = mapped_column(EnumText(Environment, 16))
    amount: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[RefundStatus] = mapped_column(EnumText(RefundStatus, 16))
    failure_message: Mapped[str | None] = mapped_column(String(500))
    # Who asked: "api", "portal:<email>", "cli".
    requested_by: Mapped[str] = mapped_column(String(300))
    midtrans_refund_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # While pending: when to ask Midtrans again how it went.
    next_check_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
