"""Per WIB day of a project environment: payments created, payments paid, their revenue, what
was refunded of them and the paid ones by payment type. Counted live from the payments table,
and stored once the day is closed, so that the portal overview and the API's statistics
(app/services/payments/read.py) read small rows and count only the open days
(docs/PERFORMANCE.md, "Portal at a million payments", "Merchant API at a million payments").

A stored day goes stale when one of its payments changes later: Midtrans dates a settlement by
its settlement_time, so a late notification can land on a past day; it also reverses
settlements (settlement → cancel). app/services/checkout/status.apply_status then calls
`invalidate_past_days` in the transaction of the change, which marks the day invalid and bumps
its version. The overview recomputes invalid days and stores them only if their version did
not move meanwhile (`window_totals`).

So that no merchant waits for that count, a worker maintenance thread calls
`fill_closed_days` every DAY_TOTALS_INTERVAL_SECONDS: every project environment whose closed
days of the overview window are not all stored and valid gets them counted and stored in the
background, and an overview then counts today alone."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

from sqlalchemy import and_, delete, false, func, literal, literal_column, select, union_all, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from app.clock import WIB, start_of_day_utc, today_wib
from app.extensions import db
from app.models import (
    PAID_STATUSES,
    ApiClient,
    Environment,
    Payment,
    PaymentDayTotals,
    PaymentStatus,
)
from app.models.base import UTCDateTime, utcnow

log = logging.getLogger(__name__)

# A day is stored only once it ended this long ago. By then every "creating" row of the day
# (not counted) has become pending or been removed, and any transaction that began before
# midnight, when the day was still today and changes to it invalidated nothing, has ended.
CLOSED_AFTER = timedelta(hours=1)
_payments = Payment.__table__.c
_totals = PaymentDayTotals.__table__
_KEY = [_totals.c.project_id, _totals.c.environment, _totals.c.day]
# Written as literals (not bound parameters), so that both databases can prove they imply
# the predicates of the partial indexes from migration 0004.
NOT_CREATING = _payments.status != literal_column(f"'{PaymentStatus.CREATING}'")
IS_PAID = _payments.status.in_([literal_column(f"'{status}'") for status in PAID_STATUSES])
UNKNOWN_TYPE = "unknown"  # the breakdown's name for a paid payment Midtrans gave no type


@dataclass(frozen=True)
class DayTotals:
    day: date  # a WIB day
    created: int  # payments created that day (any status but the internal "creating")
    paid: int  # payments paid that day (by paid_at), still counted as money received
    revenue: int  # their gross amount, refunds not subtracted
    refunded: int = 0  # what has been refunded of those payments so far
    # Those payments by Midtrans payment type ("unknown" when Midtrans named none), sorted:
    # (payment_type, count, amount).
    breakdown: tuple[tuple[str, int, int], ...] = ()


@dataclass(frozen=True)
class StoredDay:
    totals: DayTotals
    version: int
    valid: bool


def is_closed(day: date, now: datetime) -> bool:
    return start_of_day_utc(day + timedelta(days=1)) + CLOSED_AFTER <= now


def window_totals(
    project_id: str, environment: Environment, days: list[date], now: datetime, zone: tzinfo
) -> list[DayTotals]:
    """The totals of `days` (days of `zone`) in their order: stored ones for the closed days,
    the others counted live; newly counted closed days are stored and committed.

    The order is what keeps a stored day right: the versions are read first, then the days are
    counted, then each is stored only if its version is unchanged. In READ COMMITTED each
    statement sees what committed before it started, so a change that commits after the
    count began has bumped the version by the time of the store, and its day stays invalid."""
    if zone != WIB:  # stored rows are WIB days
        counted = count_days(project_id, environment, days, zone)
        return [counted[day] for day in days]
    closed = {day for day in days if is_closed(day, now)}
    stored = read_stored(project_id, environment, sorted(closed))
    known = {day: row.totals for day, row in stored.items() if row.valid}
    to_count = [day for day in days if day not in known]
    counted = count_days(project_id, environment, to_count, zone) if to_count else {}
    to_store = [counted[day] for day in to_count if day in closed]
    if to_store:
        store(project_id, environment, to_store, stored, now)
    return [known.get(day) or counted[day] for day in days]


def fill_closed_days(
    window: int,
    now: datetime | None = None,
    only: tuple[str, Environment] | None = None,
) -> int:
    """Count and store the closed days, among the last `window` WIB days, that have no valid
    stored row, for every project environment (or `only` that one). Returns how many project
    environments needed it. One statement finds them, so a pass where everything is stored
    costs that statement alone."""
    now = now or utcnow()
    today = today_wib(now)
    closed = [today - timedelta(days=ago) for ago in range(window - 1, 0, -1)]
    closed = [day for day in closed if is_closed(day, now)]
    if not closed:
        return 0
    valid_rows = (
        select(func.count())
        .where(
            _totals.c.project_id == ApiClient.project_id,
            _totals.c.environment == ApiClient.environment,
            _totals.c.day.between(closed[0], closed[-1]),
            _totals.c.valid,
        )
        .scalar_subquery()
    )
    query = select(ApiClient.project_id, ApiClient.environment).where(valid_rows < len(closed))
    if only is not None:
        query = query.where(ApiClient.project_id == only[0], ApiClient.environment == only[1])
    lacking = db.session.execute(query.order_by(ApiClient.id)).all()
    db.session.rollback()  # end the read: each project environment below commits on its own
    for project_id, environment in lacking:
        window_totals(project_id, environment, closed, now, WIB)
    return len(lacking)


def read_stored(
    project_id: str, environment: Environment, days: list[date]
) -> dict[date, StoredDay]:
    """The stored rows of these days (valid or not), by day; one primary-key range scan."""
    if not days:
        return {}
    rows = db.session.execute(
        select(_totals).where(
            _totals.c.project_id == project_id,
            _totals.c.environment == str(environment),
            _totals.c.day.between(min(days), max(days)),
        )
    ).mappings()
    wanted = set(days)
    return {
        row["day"]: StoredDay(
            DayTotals(
                row["day"],
                row["created"],
                row["paid"],
                row["revenue"],
                row["refunded"],
                _breakdown_of(row["breakdown"]),
            ),
            row["version"],
            row["valid"],
        )
        for row in rows
        if row["day"] in wanted
    }


def store(
    project_id: str,
    environment: Environment,
    counted: list[DayTotals],
    read: dict[date, StoredDay],
    now: datetime,
) -> int:
    """Store days counted after `read` was taken, each only if no invalidation came since
    (same version; no row then → none now), and commit. Returns how many were stored.

    Should the write fail (a lock conflict), it is rolled back and nothing is stored: the
    counted numbers are still right to show, and the next overview tries again."""
    stored = 0
    try:
        # One day at a time, oldest first: invalidations lock their days in the same order,
        # so the two never wait on each other in a cycle.
        for totals in sorted(counted, key=lambda totals: totals.day):
            values = dict(
                created=totals.created,
                paid=totals.paid,
                revenue=totals.revenue,
                refunded=totals.refunded,
                breakdown={name: [count, amount] for name, count, amount in totals.breakdown},
                valid=True,
                computed_at=now,
            )
            earlier = read.get(totals.day)
            if earlier is None:
                statement = (
                    _insert()
                    .values(
                        project_id=project_id,
                        environment=str(environment),
                        day=totals.day,
                        version=0,
                        **values,
                    )
                    .on_conflict_do_nothing(index_elements=_KEY)
                    .execution_options(preserve_rowcount=True)  # kept for UPDATE/DELETE only
                )
            else:
                statement = (
                    update(_totals)
                    .where(
                        _totals.c.project_id == project_id,
                        _totals.c.environment == str(environment),
                        _totals.c.day == totals.day,
                        _totals.c.version == earlier.version,
                    )
                    .values(**values)
                )
            stored += db.session.execute(statement).rowcount
        db.session.commit()
    except SQLAlchemyError as exc:
        db.session.rollback()
        log.warning("day totals of %s %s not stored: %s", project_id, environment, exc)
        return 0
    return stored


def invalidate(project_id: str, environment: Environment, *days: date) -> None:
    """Mark these days' stored totals stale, and bump their version, in the caller's
    transaction (one statement). A day with no row yet gets an invalid one: an overview that
    found none before this change and counted without it then finds the row and stores
    nothing."""
    rows = [
        dict(
            project_id=project_id,
            environment=str(environment),
            day=day,
            created=0,
            paid=0,
            revenue=0,
            refunded=0,
            breakdown={},
            version=1,
            valid=False,
            computed_at=None,
        )
        for day in sorted(set(days))
    ]
    statement = _insert().values(rows)
    db.session.execute(
        statement.on_conflict_do_update(
            index_elements=_KEY, set_={"version": _totals.c.version + 1, "valid": false()}
        )
    )


def invalidate_past_days(
    project_id: str,
    environment: Environment,
    moments: Iterable[datetime | None],
    now: datetime | None = None,
) -> None:
    """Invalidate the WIB days of these moments that are before today. Today is never
    stored, so today's moments (the normal case) cost no statement at all."""
    today = today_wib(now)
    past = {moment.astimezone(WIB).date() for moment in moments if moment is not None}
    past = {day for day in past if day < today}
    if past:
        invalidate(project_id, environment, *past)


def clear(project_id: str, environment: Environment) -> None:
    """Forget every stored day of a project environment (its past was rewritten), in the
    caller's transaction."""
    db.session.execute(
        delete(PaymentDayTotals).where(
            PaymentDayTotals.project_id == project_id,
            PaymentDayTotals.environment == str(environment),
        )
    )


def count_days(
    project_id: str, environment: Environment, days: list[date], zone: tzinfo
) -> dict[date, DayTotals]:
    """Count these days (of `zone`) live, in two statements.

    For each day's [start, stop) in UTC, a count over an index range, then the paid payments
    of that range by payment type, from the covering paid-payments index. Day bounds come from
    the same clock as the list's date filter, so a day's bar and that day's list agree; no
    per-row time-zone arithmetic, and the database does nothing per row but count and add."""
    bounds = [
        select(
            literal(n).label("n"),
            literal(_day_start(day, zone), UTCDateTime).label("start"),
            literal(_day_start(day + timedelta(days=1), zone), UTCDateTime).label("stop"),
        )
        for n, day in enumerate(days)
    ]
    span = (union_all(*bounds) if len(bounds) > 1 else bounds[0]).cte("days")
    ours = (_payments.project_id == project_id, _payments.environment == environment)
    created = (
        select(func.count())
        .where(*ours, _payments.created_at >= span.c.start, _payments.created_at < span.c.stop)
        .where(NOT_CREATING)
        .scalar_subquery()
    )
    created_by_day = dict(db.session.execute(select(span.c.n, created)).all())
    paid_by_type = db.session.execute(
        select(
            span.c.n,
            _payments.midtrans_payment_type,
            func.count(),
            func.coalesce(func.sum(_payments.amount), 0),
            func.coalesce(func.sum(_payments.refunded), 0),
        )
        .select_from(span)
        .join(
            Payment,
            and_(*ours, _payments.paid_at >= span.c.start, _payments.paid_at < span.c.stop),
        )
        .where(IS_PAID)
        .group_by(span.c.n, _payments.midtrans_payment_type)
    )
    paid: dict[int, list[tuple[str, int, int, int]]] = {}
    for n, payment_type, count, amount, refunded in paid_by_type:
        paid.setdefault(n, []).append(
            (payment_type or UNKNOWN_TYPE, int(count), int(amount), int(refunded))
        )
    return {
        day: _day_of(day, int(created_by_day[n]), paid.get(n, [])) for n, day in enumerate(days)
    }


def _day_of(day: date, created: int, paid: list[tuple[str, int, int, int]]) -> DayTotals:
    by_type: dict[str, tuple[int, int]] = {}
    for name, count, amount, _ in paid:  # None and "unknown" are one name
        before = by_type.get(name, (0, 0))
        by_type[name] = (before[0] + count, before[1] + amount)
    return DayTotals(
        day,
        created,
        sum(entry[1] for entry in paid),
        sum(entry[2] for entry in paid),
        sum(entry[3] for entry in paid),
        tuple((name, *by_type[name]) for name in sorted(by_type)),
    )


def _breakdown_of(stored: dict[str, Any] | None) -> tuple[tuple[str, int, int], ...]:
    return tuple(
        (name, int(count), int(amount)) for name, (count, amount) in sorted((stored or {}).items())
    )


def _day_start(day: date, zone: tzinfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)


def _insert():
    dialect = postgresql if db.engine.dialect.name == "postgresql" else sqlite
    return dialect.insert(_totals)
