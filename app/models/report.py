"""Stored numbers behind the portal's reports (app/services/reporting/day_totals.py
owns them)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Date, ForeignKey, Integer
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, EnumText, JSONType, UTCDateTime
from app.models.project import Environment


class PaymentDayTotals(Base):
    """One closed WIB day of one project environment, as the overview shows it.

    `valid` is false once a change to that day's payments (a late settlement, a reversal)
    made the numbers stale; every such invalidation also bumps `version`, so a computation
    that started before it can tell, and does not store what it computed."""

    __tablename__ = "payment_day_totals"

    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"), primary_key=True)
    environment: Mapped[Environment] = mapped_column(EnumText(Environment, 16), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    created: Mapped[int] = mapped_column(Integer)
    paid: Mapped[int] = mapped_column(Integer)
    revenue: Mapped[int] = mapped_column(BigInteger)
    # What has been refunded of the day's paid payments, and those payments by payment type:
    # {"bank_transfer": [count, amount], ...} ("unknown" when Midtrans named none).
    refunded: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    breakdown: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict, server_default="{}")
    version: Mapped[int] = mapped_column(Integer)
    valid: Mapped[bool] = mapped_column(Boolean)
    # None for a row an invalidation created before any computation stored the day.
    computed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ReconcileDay(Base):
    """One WIB day of the reconciler's work in one project environment: how many payments it
    asked Midtrans about, and how many it found different and corrected (those corrections
    are the payments' `reconcile` events, on their timelines)."""

    __tablename__ = "reconcile_days"

    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"), primary_key=True)
    environment: Mapped[Environment] = mapped_column(EnumText(Environment, 16), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    checked: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    corrected: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Get Status calls that had no usable answer (Midtrans down, 5xx, a timeout).
    failed: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
