"""Stored totals of closed WIB days behind the portal overview
(app/services/reporting/day_totals.py): stored once a day has been over for an hour, read back
instead of recounted, invalidated by a late change to a past day (through the real notification
path), and never overwritten with numbers counted before such a change committed."""

from __future__ import annotations

import threading
import time
from datetime import date, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import event, select, update

from app.clock import WIB, start_of_day_utc, today_wib
from app.extensions import db
from app.midtrans.timefmt import format_midtrans_time
from app.models import Payment, PaymentDayTotals
from app.models.base import utcnow
from app.services.reporting import day_totals
from app.services.reporting import overview as reports
from app.worker import Maintenance
from tests.helpers import add_payment, create_payment, direct_payment, invoke, new_project
from tests.webhook_flow import midtrans_moves, settle


@pytest.fixture
def today() -> date:
    return today_wib()


@pytest.fixture
def noon(today) -> datetime:
    """Today 12:00 WIB: every earlier day is closed, whatever the time the test runs at."""
    return start_of_day_utc(today) + timedelta(hours=12)


def day_start(today: date, days_ago: int) -> datetime:
    return start_of_day_utc(today - timedelta(days=days_ago))


def overview(project_id: str, now: datetime, environment: str = "sandbox") -> reports.Overview:
    return reports.project_overview(project_id, environment, today_wib(now), WIB, 30, now=now)


def numbers(result: reports.Overview, today: date, days_ago: int) -> tuple[int, int, int]:
    [entry] = [entry for entry in result.days if entry.day == today - timedelta(days=days_ago)]
    return entry.created, entry.paid, entry.revenue


def stored_rows(project_id: str, today: date, environment: str = "sandbox") -> dict[int, dict]:
    """Stored rows by days ago."""
    rows = db.session.execute(
        select(PaymentDayTotals.__table__).where(
            PaymentDayTotals.project_id == project_id,
            PaymentDayTotals.environment == environment,
        )
    ).mappings()
    return {(today - row["day"]).days: dict(row) for row in rows}


def statements_during(call) -> list[str]:
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        call()
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    return seen


def test_closed_days_are_stored_once_then_read_back_instead_of_recounted(app, project, today, noon):
    owner = project.project_id
    with app.app_context():
        add_payment(
            owner,
            day_start(today, 3) + timedelta(hours=1),
            status="settlement",
            amount=50_000,
            paid_at=day_start(today, 3) + timedelta(hours=2),
        )
        add_payment(owner, day_start(today, 0) + timedelta(hours=1), status="pending")

        first = overview(owner, noon)
        rows = stored_rows(owner, today)
        second_statements = statements_during(lambda: overview(owner, noon))
        second = overview(owner, noon)

    assert numbers(first, today, 3) == (1, 1, 50_000)
    assert numbers(first, today, 0) == (1, 0, 0)
    assert sorted(rows) == list(range(1, 30))  # every closed day; never today
    assert all(row["valid"] and row["version"] == 0 for row in rows.values())
    assert (rows[3]["created"], rows[3]["paid"], rows[3]["revenue"]) == (1, 1, 50_000)
    assert second == first
    assert not [s for s in second_statements if s.lstrip().upper().startswith(("INSERT", "UPDATE"))]

    # The closed days really come from the table: a number written there is what is shown.
    with app.app_context():
        db.session.execute(
            update(PaymentDayTotals)
            .where(PaymentDayTotals.day == today - timedelta(days=3))
            .values(created=999)
        )
        db.session.commit()
        assert numbers(overview(owner, noon), today, 3) == (999, 1, 50_000)


def test_a_late_settlement_dated_three_days_ago_changes_that_day(
    app, client, project, fake_midtrans, today, noon
):
    owner = project.project_id
    purchase_id = create_payment(client, project)
    with app.app_context():
        before = overview(owner, noon)
    assert numbers(before, today, 3) == (0, 0, 0)

    # Midtrans reports the settlement days late; Get Status confirms its settlement_time.
    paid = day_start(today, 3) + timedelta(hours=10)
    settle(client, fake_midtrans, purchase_id, settlement_time=format_midtrans_time(paid))

    with app.app_context():
        invalidated = stored_rows(owner, today)[3]
        after = overview(owner, noon)
        restored = stored_rows(owner, today)[3]
    assert (invalidated["valid"], invalidated["version"]) == (False, 1)
    assert numbers(after, today, 3) == (0, 1, 75_000)
    assert numbers(after, today, 0) == (1, 0, 0)  # created today, counted live
    assert (restored["valid"], restored["version"], restored["paid"]) == (True, 1, 1)


def test_a_reversal_of_a_past_days_settlement_removes_its_revenue_from_that_day(
    app, client, project, fake_midtrans, today, noon
):
    owner = project.project_id
    # a payment created two days ago, paid that day
    with time_machine.travel(day_start(today, 2) + timedelta(hours=9)):
        purchase_id = create_payment(client, project)
    paid = day_start(today, 2) + timedelta(hours=10)
    settle(client, fake_midtrans, purchase_id, settlement_time=format_midtrans_time(paid))
    with app.app_context():
        before = overview(owner, noon)

    reversal = midtrans_moves(
        client, fake_midtrans, purchase_id, "cancel", settlement_time=format_midtrans_time(paid)
    )

    assert reversal.status_code == 200, reversal.get_json()
    with app.app_context():
        assert db.session.scalar(select(Payment.status)) == "cancel"
        after = overview(owner, noon)
    assert numbers(before, today, 2) == (1, 1, 75_000)
    assert numbers(after, today, 2) == (1, 0, 0)


def test_a_settlement_of_today_adds_no_statement_to_the_notification(
    app, client, project, fake_midtrans
):
    purchase_id = create_payment(client, project)
    with app.app_context():
        seen = statements_during(lambda: settle(client, fake_midtrans, purchase_id))
    assert seen and not [s for s in seen if "payment_day_totals" in s]


def test_a_change_committed_after_the_versions_were_read_is_not_stored_stale(
    app, project, today, noon
):
    owner = project.project_id
    three, four = today - timedelta(days=3), today - timedelta(days=4)

    def late_settlement(days_ago: int) -> None:
        """What apply_status does for a late settlement: the payment and the invalidation,
        committed together."""
        paid = day_start(today, days_ago) + timedelta(hours=5)
        late = direct_payment(
            owner, paid - timedelta(minutes=5), status="settlement", amount=30_000, paid_at=paid
        )
        db.session.add(late)
        day_totals.invalidate_past_days(owner, "sandbox", [paid])
        db.session.commit()

    with app.app_context():
        overview(owner, noon)  # day 3 stored (valid, version 0); day 4 too
        late_settlement(3)  # day 3 now invalid, version 1
        db.session.execute(PaymentDayTotals.__table__.delete().where(PaymentDayTotals.day == four))
        db.session.commit()  # day 4 has no row at all

        # An overview reads the versions, then counts...
        read = day_totals.read_stored(owner, "sandbox", [three, four])
        counted = day_totals.count_days(owner, "sandbox", [three, four], WIB)
        # ...while two more late settlements commit...
        late_settlement(3)
        late_settlement(4)
        # ...then stores what it counted before them: neither day may take those numbers.
        stored = day_totals.store(owner, "sandbox", list(counted.values()), read, noon)
        rows = stored_rows(owner, today)
        fresh = overview(owner, noon)
        restored = stored_rows(owner, today)

    assert read[three].version == 1 and four not in read
    assert (counted[three].paid, counted[four].paid) == (1, 0)
    assert stored == 0
    assert (rows[3]["valid"], rows[3]["version"]) == (False, 2)
    assert (rows[4]["valid"], rows[4]["version"]) == (False, 1)
    assert numbers(fresh, today, 3) == (2, 2, 60_000)
    assert numbers(fresh, today, 4) == (1, 1, 30_000)
    assert restored[3]["valid"] and restored[4]["valid"]


@pytest.mark.postgres_only
def test_a_store_waits_for_an_uncommitted_invalidation_and_then_stores_nothing(
    app, project, today, noon
):
    """With real concurrency: the notification's transaction has invalidated day 3 but not
    committed when the overview stores; the UPDATE waits on the row lock, then finds the new
    version and leaves the day invalid."""
    owner = project.project_id
    three = today - timedelta(days=3)
    invalidated, commit_now, failures = threading.Event(), threading.Event(), []

    def notification_transaction():
        try:
            with app.app_context():
                paid = day_start(today, 3) + timedelta(hours=5)
                db.session.add(direct_payment(owner, paid, status="settlement", paid_at=paid))
                db.session.flush()
                day_totals.invalidate(owner, "sandbox", three)
                invalidated.set()
                commit_now.wait(10)
                db.session.commit()
        except Exception as exc:  # noqa: BLE001 - reported by the main thread
            failures.append(exc)
            invalidated.set()

    with app.app_context():
        overview(owner, noon)
        read = day_totals.read_stored(owner, "sandbox", [three])
        counted = day_totals.count_days(owner, "sandbox", [three], WIB)
        worker = threading.Thread(target=notification_transaction)
        worker.start()
        assert invalidated.wait(10)
        threading.Timer(0.3, commit_now.set).start()
        started = time.monotonic()
        stored = day_totals.store(owner, "sandbox", list(counted.values()), read, noon)
        waited = time.monotonic() - started
        worker.join(10)
        row = stored_rows(owner, today)[3]

    assert not failures
    assert counted[three].paid == 0 and stored == 0
    assert waited >= 0.25  # it did wait for the other transaction
    assert (row["valid"], row["version"]) == (False, 1)


def test_a_day_that_ended_less_than_an_hour_ago_is_never_stored(app, project, today):
    owner = project.project_id
    with app.app_context():
        add_payment(owner, day_start(today, 1) + timedelta(hours=23), status="pending")
        add_payment(owner, day_start(today, 2) + timedelta(hours=23), status="pending")
        early = overview(owner, start_of_day_utc(today) + timedelta(minutes=59))
        early_rows = stored_rows(owner, today)
        later = overview(owner, start_of_day_utc(today) + timedelta(hours=1))
        later_rows = stored_rows(owner, today)

    assert numbers(early, today, 1) == numbers(later, today, 1) == (1, 0, 0)
    assert 1 not in early_rows and early_rows[2]["created"] == 1
    assert later_rows[1]["valid"] and later_rows[1]["created"] == 1


def test_the_overview_still_answers_when_storing_fails(app, project, noon, today):
    """A project id with no project row: the stored rows' foreign key refuses them."""
    with app.app_context():
        result = overview("prj_missing", noon)
        assert stored_rows("prj_missing", today) == {}
    assert result.total == reports.DayTotals(result.days[0].day, 0, 0, 0)


def test_seeding_counts_that_project_environments_days_again_and_stores_them(
    app, project, noon, today
):
    owner = project.project_id
    with app.app_context():
        overview(owner, noon)
        overview(owner, noon, environment="production")
        production_before = stored_rows(owner, today, "production")
    result = invoke(app, "payments", "seed", "--project", owner, "--count", "60", "--days", "10")

    assert result.exit_code == 0, result.output
    with app.app_context():
        sandbox = stored_rows(owner, today)
        days = [today - timedelta(days=ago) for ago in sorted(sandbox)]
        live = day_totals.count_days(owner, "sandbox", days, WIB)
        assert stored_rows(owner, today, "production") == production_before
        seeded = overview(owner, datetime.now(WIB))
    assert sandbox and all(row["valid"] for row in sandbox.values())
    assert {(today - day).days: counted for day, counted in live.items()} == {
        ago: reports.DayTotals(
            today - timedelta(days=ago),
            *(row[k] for k in (*KEYS, "refunded")),
            tuple((name, *entry) for name, entry in sorted(row["breakdown"].items())),
        )
        for ago, row in sandbox.items()
    }
    assert sum(row["created"] for row in sandbox.values()) > 0
    assert seeded.total.created == 60


KEYS = ("created", "paid", "revenue")


# -- the worker's pass: closed days stored before anyone looks ---------------------------------


def test_the_worker_stores_every_closed_day_so_the_first_overview_counts_only_today(
    app, project, today
):
    owner = project.project_id
    with app.app_context():
        add_payment(
            owner,
            day_start(today, 5) + timedelta(hours=3),
            status="settlement",
            amount=40_000,
            paid_at=day_start(today, 4) + timedelta(hours=1),
        )
    Maintenance(app).day_totals()

    with app.app_context():
        rows = stored_rows(owner, today)
        production = stored_rows(owner, today, "production")
        seen = statements_during(lambda: overview(owner, utcnow()))
        shown = overview(owner, utcnow())
    # Every day of the window but today (and yesterday until 01:00 WIB, not yet closed).
    assert set(range(2, 30)) <= set(rows) <= set(range(1, 30))
    assert set(production) == set(rows)
    assert tuple(rows[5][k] for k in KEYS) == (1, 0, 0)
    assert tuple(rows[4][k] for k in KEYS) == (0, 1, 40_000)
    assert numbers(shown, today, 4) == (0, 1, 40_000)
    # The view reads the stored days, counts what is still open in one statement, counts
    # "pending now", and writes nothing.
    assert len([s for s in seen if "FROM payments" in s and "count(" in s]) == 2
    assert not [s for s in seen if s.lstrip().upper().startswith(("INSERT", "UPDATE"))]


def test_a_pass_with_every_day_stored_costs_one_statement(app, project, noon):
    with app.app_context():
        assert reports.prepare_overviews(noon) == 2  # sandbox and production, first time
        seen = statements_during(lambda: reports.prepare_overviews(noon))
        again = reports.prepare_overviews(noon)
    assert again == 0
    assert len([s for s in seen if s.lstrip().upper().startswith("SELECT")]) == 1
    assert not [s for s in seen if "INSERT" in s.upper() or "UPDATE" in s.upper()]


def test_a_day_invalidated_by_a_late_settlement_is_recounted_by_the_next_pass(
    app, client, project, fake_midtrans, today, noon
):
    owner = project.project_id
    purchase_id = create_payment(client, project)
    with app.app_context():
        reports.prepare_overviews(noon)
    paid = day_start(today, 6) + timedelta(hours=8)
    settle(client, fake_midtrans, purchase_id, settlement_time=format_midtrans_time(paid))
    with app.app_context():
        assert stored_rows(owner, today)[6]["valid"] is False
        assert reports.prepare_overviews(noon) == 1  # only the sandbox needed it
        row = stored_rows(owner, today)[6]
    assert (row["valid"], row["version"]) == (True, 1)
    assert tuple(row[k] for k in KEYS) == (0, 1, 75_000)


def test_a_new_project_environment_is_filled_by_the_pass_after_its_creation(app, project, noon):
    with app.app_context():
        reports.prepare_overviews(noon)
        other = new_project(name="Toko Baru")
        assert reports.prepare_overviews(noon) == 2
        assert len(stored_rows(other.project_id, today_wib(noon))) == 29


def test_recount_days_repairs_days_whose_payments_were_changed_outside_lunas(
    app, project, noon, today
):
    owner = project.project_id
    with app.app_context():
        add_payment(
            owner,
            day_start(today, 8) + timedelta(hours=2),
            status="settlement",
            amount=30_000,
            paid_at=day_start(today, 8) + timedelta(hours=3),
        )
        reports.prepare_overviews()
        # A fix by hand in SQL: the payment was really a cancelled one. Nothing invalidates.
        db.session.execute(update(Payment).values(status="cancel", paid_at=None))
        db.session.commit()
        assert tuple(stored_rows(owner, today)[8][k] for k in KEYS) == (1, 1, 30_000)

    result = invoke(app, "payments", "recount-days", "--project", owner)
    missing = invoke(app, "payments", "recount-days", "--project", "prj_nope")

    assert result.exit_code == 0, result.output
    assert '"recounted": [\n    "sandbox",\n    "production"\n  ]' in result.output
    with app.app_context():
        assert tuple(stored_rows(owner, today)[8][k] for k in KEYS) == (1, 0, 0)
    assert missing.exit_code != 0 and "no project" in missing.output
