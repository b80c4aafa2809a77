"""The worker's maintenance thread (app/worker.py): each upkeep task that fails is logged and
the others still run, so one broken task (or the database being away) never stops the thread."""

from __future__ import annotations

import logging

from app import create_app
from app.worker import Maintenance


def test_every_task_runs_and_each_failure_is_logged_when_the_database_is_away(app_environ, caplog):
    environ = {**app_environ, "DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:9/lunas"}
    unreachable = create_app(environ)  # nothing listens on port 9

    with caplog.at_level(logging.ERROR, logger="app.worker"):
        Maintenance(unreachable).run_once()  # returns: nothing is raised

    assert [record.getMessage() for record in caplog.records if record.name == "app.worker"] == [
        "webhook sweeper failed; will try again",
        "pending janitor failed; will try again",
        "overview day totals failed; will try again",
    ]
