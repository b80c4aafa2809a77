"""The worker's maintenance thread (app/worker.py): each upkeep task that fails is logged and
the others still run, so one broken task (or the database being away) never stops the thread."""

from __future__ import annotations

import logging
import time

from sqlalchemy import select

from app import create_app
from app.extensions import db
from app.models import PaymentDayTotals
from app.worker import Maintenance


def test_every_task_runs_and_each_failure_is_logged_when_the_database_is_away(app_environ, caplog):
    environ = {**app_environ, "DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:9/lunas"}
    unreachable = create_app(environ)  # nothing listens on port 9

    with caplog.at_level(logging.ERROR, logger="app.worker"):
        Maintenance(unreachable).run_once()  # returns: nothing is raised

    assert [record.getMessage() for record in caplog.records if record.name == "app.worker"] == [
        "webhook sweeper failed; will try again",
        "pending janitor failed; will try again",
        "unverified notification purge failed; will try again",
        "idempotency key purge failed; will try again",
        "overview day totals failed; will try again",
        "reconciler failed; will try again",
        "pending refund check failed; will try again",
    ]


def test_the_running_thread_stores_the_overview_days_of_a_new_project(app, project):
    maintenance = Maintenance(app)
    maintenance.start()
    try:
        with app.app_context():
            deadline = time.monotonic() + 10
            # Both environments: every closed day of the window (yesterday only after 01:00 WIB).
            while time.monotonic() < deadline and len(stored_days(project.project_id)) < 2 * 28:
                time.sleep(0.1)
            stored = stored_days(project.project_id)
    finally:
        maintenance.stop()

    assert len(stored) >= 2 * 28
    assert not maintenance.is_alive() and not maintenance.totals_thread.is_alive()
    assert not maintenance.reconciler_thread.is_alive()


def stored_days(project_id: str) -> list:
    days = db.session.scalars(
        select(PaymentDayTotals.day).where(PaymentDayTotals.project_id == project_id)
    ).all()
    # End the read at once: the next one sees new commits, and on SQLite (every transaction
    # BEGIN IMMEDIATE) an open one would keep the worker's writes waiting.
    db.session.rollback()
    return days
