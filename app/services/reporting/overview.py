"""The portal's overview of a project environment: 30 WIB days of payments created, paid and
revenue, closed days read from their stored totals (app/services/reporting/day_totals.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo

from sqlalchemy import func, select

from app.errors import NotFoundError
from app.extensions import db
from app.models import Environment, Payment, PaymentStatus, Project
from app.models.base import utcnow
from app.services.reporting import day_totals
from app.services.reporting.day_totals import DayTotals

OVERVIEW_DAYS = 30  # the overview's window, today included
_payments = Payment.__table__.c


@dataclass(frozen=True)
class Overview:
    days: list[DayTotals]  # oldest first; the last one is today
    pending_now: int

    @property
    def today(self) -> DayTotals:
        return self.days[-1]

    @property
    def total(self) -> DayTotals:
        return DayTotals(
            self.days[0].day,
            sum(day.created for day in self.days),
            sum(day.paid for day in self.days),
            sum(day.revenue for day in self.days),
        )


def prepare_overviews(now: datetime | None = None, only: tuple[str, Environment] | None = None):
    """Store the closed days of every project environment's overview window (or `only` that
    one's) ahead of its views: the worker's maintenance pass, and the seed. Returns how many
    project environments needed it."""
    return day_totals.fill_closed_days(OVERVIEW_DAYS, now, only)


def recount_overview(project_id: str, environment: Environment) -> None:
    """Forget a project environment's stored days and count its window again now."""
    if db.session.get(Project, project_id) is None:
        raise NotFoundError("no project %(project_id)s", project_id=repr(project_id))
    day_totals.clear(project_id, environment)
    db.session.commit()
    prepare_overviews(only=(project_id, environment))


def project_overview(
    project_id: str,
    environment: Environment,
    last: date,
    zone: tzinfo,
    days: int = OVERVIEW_DAYS,
    now: datetime | None = None,
) -> Overview:
    """Per calendar day of `zone` (the portal's WIB) for `days` days up to `last` included.

    Closed days come from their stored totals, the others (today) are counted live
    (app/services/reporting/day_totals.py); closed days counted for the first time, or again
    after an invalidation, are stored and committed."""
    first = last - timedelta(days=days - 1)
    window = [first + timedelta(days=offset) for offset in range(days)]
    totals = day_totals.window_totals(project_id, environment, window, now or utcnow(), zone)
    pending_now = db.session.scalar(
        select(func.count()).where(
            _payments.project_id == project_id,
            _payments.environment == environment,
            _payments.status == PaymentStatus.PENDING,
        )
    )
    return Overview(totals, pending_now)
