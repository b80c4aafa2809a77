"""State of the built-in Midtrans simulator, kept in the database so every web process shares it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, JSONType, UTCDateTime, utcnow


class SimulatedTransaction(Base):
    __tablename__ = "simulator_transactions"

    order_id: Mapped[str] = mapped_column(String(50), primary_key=True)
    token: Mapped[str] = mapped_column(String(36), unique=True)
    server_key: Mapped[str] = mapped_column(String(100))
    gross_amount: Mapped[int] = mapped_column(BigInteger)
    # None until a payment method is chosen: Get Status answers "doesn't exist" until then.
    transaction_status: Mapped[str | None] = mapped_column(String(32))
    fraud_status: Mapped[str | None] = mapped_column(String(32))
    payment_type: Mapped[str | None] = mapped_column(String(32))
    transaction_id: Mapped[str | None] = mapped_column(String(36))
    transaction_time: Mapped[datetime | None] = mapped_column(UTCDateTime)
    settlement_time: Mapped[datetime | None] = mapped_column(UTCDateTime)
    notification_urls: Mapped[list[str]] = mapped_column(JSONType, default=list)
    finish_url: Mapped[str | None] = mapped_column(String(255))
    request: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    # Refunds made (each: refund_key, refund_amount, reason, created_at), as Get Status lists them.
    refunds: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONType, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
