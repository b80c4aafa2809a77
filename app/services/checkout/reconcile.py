"""The reconciler (SPEC §15): Lunas does not wait for Midtrans to tell it.

Midtrans tells merchants to ask Get Status when a notification is missing, and notifications
are missed (a firewall, an outage of ours, a dashboard action that sends none). So Lunas asks
on its own:

- a pending payment, on a back-off from its creation: 5 min, then 15 min, 1 h and 6 h later,
  then daily, until a day past its expiry. Once it is overdue (its expiry and the grace
  passed) the pending janitor (janitor.py) asks about it instead, every half hour, since
  Midtrans sends nothing when a Snap page expires;
- a settlement, once more a day after it was paid (a refund or reversal made in Midtrans's
  dashboard, whose notification never came);
- a pending refund, until it ends (app/services/payments/refunds.py's check, which the
  worker runs at the reconciler's turn, under its lock).

What differs is applied through the notification path (`apply_midtrans_state`) as an event of
source `reconcile` on the payment's timeline, so a correction moves the payment, its stock,
its delivery link and its webhooks exactly as the missed notification would have; what agrees
leaves no event, only a count. Each WIB day's counts per project environment (asked,
corrected, failed) are kept in `reconcile_days` for the portal's report.

Midtrans's limits: at most RECONCILE_CALLS_PER_MINUTE Get Status calls a minute, spaced evenly
(never a burst), and a pass stops at the third Get Status in a row that fails (Midtrans is in
trouble: it is asked again at the next turn, not hammered)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from itertools import chain, repeat

from flask import current_app
from sqlalchemy import Row, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from app.clock import WIB, today_wib
from app.errors import ServiceError
from app.extensions import db
from app.midtrans.client import (
    MidtransClient,
    MidtransError,
    MidtransNotFoundError,
    MidtransUnavailableError,
)
from app.midtrans.status import map_midtrans_status
from app.models import Environment, EventOutcome, Payment, PaymentEvent, PaymentStatus
from app.models.base import utcnow
from app.models.report import ReconcileDay
from app.services.checkout.create import FIRST_RECONCILE
from app.services.checkout.notifications import apply_midtrans_state

log = logging.getLogger(__name__)

# The waits between a pending payment's checks, from its creation; daily after the last.
# (The first is set when the checkout opens; a settlement's one more check when it is applied,
# status.SETTLED_RECHECK.)
BACK_OFF = (
    FIRST_RECONCILE,
    timedelta(minutes=15),
    timedelta(hours=1),
    timedelta(hours=6),
)
DAILY = timedelta(days=1)
AFTER_EXPIRY = timedelta(days=1)  # a pending payment is not asked about past this
RETRY_AFTER_FAILURE = timedelta(minutes=5)
SETTLED_RETRY_AFTER_FAILURE = timedelta(hours=1)
SETTLED_GIVE_UP = timedelta(days=3)  # a settlement Midtrans never answered about: let it be
FAILURES_IN_A_ROW = 3  # a pass stops here: Midtrans is not answering


class Finding(StrEnum):
    SAME = "same"  # Midtrans agrees (or has no transaction yet: no method chosen)
    CORRECTED = "corrected"
    FAILED = "failed"  # no usable answer


@dataclass(frozen=True)
class Correction:
    purchase_id: str
    from_status: str
    to_status: str


@dataclass
class ReconcileReport:
    checked: int = 0
    corrected: int = 0
    failed: int = 0
    stopped_early: bool = False  # the pass stopped at FAILURES_IN_A_ROW
    corrections: list[Correction] = field(default_factory=list)


def next_check(created_at: datetime, expires_at: datetime, now: datetime) -> datetime | None:
    """A pending payment's next check after `now` on the back-off from its creation, or None
    once that would be more than a day past its expiry. Never later than the moment it
    becomes overdue (its expiry and the grace), and None from then on: the pending janitor
    asks about an overdue payment."""
    moment = created_at
    for wait in chain(BACK_OFF, repeat(DAILY)):
        moment += wait
        if moment > now:
            break
    overdue = expires_at + _grace()
    if moment > expires_at + AFTER_EXPIRY or overdue <= now:
        return None
    return min(moment, overdue)


def calls_per_minute() -> int:
    return current_app.config["RECONCILE_CALLS_PER_MINUTE"]


def reconcile(
    now: datetime | None = None,
    limit: int | None = None,
    all_due_now: bool = False,
    pause: Callable[[float], bool] | None = None,
) -> ReconcileReport:
    """One pass: the due payments (every one Midtrans knows and that is not final, with
    `all_due_now`), oldest due first, at most `limit` (a minute's worth of calls), each call
    `60 / RECONCILE_CALLS_PER_MINUTE` s after the last.

    `pause(seconds)` waits between calls and returns True when the caller wants the pass to
    stop (the worker's stop event); plain sleeping by default."""
    now = now or utcnow()
    pause = pause or _sleep
    report = ReconcileReport()
    spacing = 60.0 / calls_per_minute()
    failures = 0
    for number, row in enumerate(_due(now, limit or calls_per_minute(), all_due_now)):
        if number and pause(spacing):
            break
        finding = _check(row, report)
        report.checked += 1
        failures = failures + 1 if finding == Finding.FAILED else 0
        if failures >= FAILURES_IN_A_ROW:
            report.stopped_early = True
            log.warning("reconciler: %d Get Status calls failed in a row; pass stopped", failures)
            break
    return report


def _sleep(seconds: float) -> bool:
    time.sleep(seconds)
    return False


def _grace() -> timedelta:
    return timedelta(minutes=current_app.config["PENDING_GRACE_MINUTES"])


_COLUMNS = (
    Payment.id,
    Payment.purchase_id,
    Payment.project_id,
    Payment.environment,
    Payment.status,
    Payment.created_at,
    Payment.expires_at,
    Payment.paid_at,
    Payment.next_reconcile_at,
)


def _due(now: datetime, limit: int, all_due_now: bool) -> Iterator[Row]:
    """Pending payments not yet overdue whose check is due (or never set: rows from before
    the reconciler), and settlements whose day has passed; read at once, then the read
    transaction ends (no transaction stays open across a Get Status call)."""
    pending = select(*_COLUMNS).where(Payment.status == PaymentStatus.PENDING)
    settled = select(*_COLUMNS).where(
        Payment.status == PaymentStatus.SETTLEMENT, Payment.next_reconcile_at.is_not(None)
    )
    if not all_due_now:
        pending = pending.where(
            Payment.expires_at >= now - _grace(),
            or_(Payment.next_reconcile_at.is_(None), Payment.next_reconcile_at <= now),
        )
        settled = settled.where(Payment.next_reconcile_at <= now)
    rows = [
        *db.session.execute(pending.order_by(Payment.next_reconcile_at).limit(limit)),
        *db.session.execute(settled.order_by(Payment.next_reconcile_at).limit(limit)),
    ]
    db.session.rollback()
    rows.sort(key=lambda row: row.next_reconcile_at or datetime.min.replace(tzinfo=now.tzinfo))
    return iter(rows[:limit])


def _check(row: Row, report: ReconcileReport) -> Finding:
    """Ask Midtrans about one payment, apply a difference, count it, schedule the next."""
    finding, moved_to = _ask(row)
    now = utcnow()
    if finding == Finding.CORRECTED:
        report.corrected += 1
        report.corrections.append(Correction(row.purchase_id, str(row.status), str(moved_to)))
        log.info("reconciler corrected %s: %s -> %s", row.purchase_id, row.status, moved_to)
    elif finding == Finding.FAILED:
        report.failed += 1
    db.session.execute(
        update(Payment)
        .where(Payment.id == row.id, Payment.status == row.status)
        .values(next_reconcile_at=_next(row, finding, now))
    )
    _count(row.project_id, row.environment, today_wib(now), finding)
    db.session.commit()
    return finding


def _ask(row: Row) -> tuple[Finding, PaymentStatus | None]:
    try:
        client = MidtransClient.for_environment(row.environment)
        truth = client.get_status(
            row.purchase_id, timeout=current_app.config["MIDTRANS_STATUS_TIMEOUT_SECONDS"]
        )
    except MidtransNotFoundError:
        if row.status == PaymentStatus.PENDING:
            return Finding.SAME, None  # no payment method chosen yet: nothing to differ
        log.warning("reconciler: Midtrans knows no transaction for settled %s", row.purchase_id)
        return Finding.FAILED, None
    except (MidtransError, MidtransUnavailableError) as exc:
        db.session.rollback()
        log.warning("reconciler could not ask about %s: %s", row.purchase_id, exc)
        return Finding.FAILED, None
    target = map_midtrans_status(
        str(truth.get("transaction_status")),
        truth.get("fraud_status") if isinstance(truth.get("fraud_status"), str) else None,
    )
    if target is None or target == row.status:
        return Finding.SAME, None
    event = PaymentEvent.of_answer(row.id, "reconcile", truth)
    db.session.add(event)
    db.session.commit()
    try:
        outcome = apply_midtrans_state(row.id, truth, event)
    except ServiceError as exc:  # recorded on the event (an amount below the payment's, say)
        log.warning("reconciler did not apply %s to %s: %s", target, row.purchase_id, exc)
        return Finding.FAILED, None
    if outcome == EventOutcome.APPLIED:
        return Finding.CORRECTED, target
    return Finding.SAME, None  # a notification moved it first


def _next(row: Row, finding: Finding, now: datetime) -> datetime | None:
    if row.status == PaymentStatus.SETTLEMENT:
        if finding != Finding.FAILED or row.paid_at is None or now - row.paid_at > SETTLED_GIVE_UP:
            return None  # asked once more: never again
        return now + SETTLED_RETRY_AFTER_FAILURE
    scheduled = next_check(row.created_at, row.expires_at, now)
    if finding == Finding.FAILED:
        retry = now + RETRY_AFTER_FAILURE
        return retry if scheduled is None else min(scheduled, retry)
    return scheduled


def _count(project_id: str, environment: Environment, day: date, finding: Finding) -> None:
    """Add one check to the day's counts, in the caller's transaction (one statement)."""
    added = {
        "checked": 1,
        "corrected": int(finding == Finding.CORRECTED),
        "failed": int(finding == Finding.FAILED),
    }
    table = ReconcileDay.__table__
    dialect = postgresql if db.engine.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table).values(
        project_id=project_id, environment=str(environment), day=day, **added
    )
    db.session.execute(
        statement.on_conflict_do_update(
            index_elements=[table.c.project_id, table.c.environment, table.c.day],
            set_={name: table.c[name] + value for name, value in added.items()},
        )
    )


# -- the portal's report ----------------------------------------------------------------------


@dataclass(frozen=True)
class ReportDay:
    day: date
    checked: int
    corrected: int
    failed: int


def report_days(project_id: str, environment: Environment, days: int = 14) -> list[ReportDay]:
    """The last `days` WIB days the reconciler worked in this project environment, newest
    first (a day it asked nothing is left out)."""
    since = today_wib() - timedelta(days=days - 1)
    rows = db.session.scalars(
        select(ReconcileDay)
        .where(
            ReconcileDay.project_id == project_id,
            ReconcileDay.environment == environment,
            ReconcileDay.day >= since,
        )
        .order_by(ReconcileDay.day.desc())
    ).all()
    return [ReportDay(row.day, row.checked, row.corrected, row.failed) for row in rows]


@dataclass(frozen=True)
class CorrectionSeen:
    day: date
    purchase_id: str
    order_id: str
    reported: str | None  # Midtrans's transaction_status
    at: datetime


def corrections(project_id: str, environment: Environment, days: int = 14) -> list[CorrectionSeen]:
    """Which payments the reconciler corrected in those days, newest first: its events that
    moved a payment."""
    since = datetime.combine(today_wib() - timedelta(days=days - 1), datetime.min.time(), WIB)
    rows = db.session.execute(
        select(
            PaymentEvent.received_at,
            PaymentEvent.transaction_status,
            Payment.purchase_id,
            Payment.order_id,
        )
        .join(Payment, Payment.id == PaymentEvent.payment_id)
        .where(
            PaymentEvent.source == "reconcile",
            PaymentEvent.received_at >= since,
            PaymentEvent.outcome == EventOutcome.APPLIED,
            Payment.project_id == project_id,
            Payment.environment == environment,
        )
        .order_by(PaymentEvent.received_at.desc())
        .limit(500)
    ).all()
    return [
        CorrectionSeen(
            row.received_at.astimezone(WIB).date(),
            row.purchase_id,
            row.order_id,
            row.transaction_status,
            row.received_at,
        )
        for row in rows
    ]
