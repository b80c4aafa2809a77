"""`flask doctor` against real services and fakes only at the edge: PostgreSQL, Redis with a
worker registered in RQ's own registry, a local HTTP server speaking Midtrans's Get Status
(HTTP 200 "Transaction doesn't exist" for a key it knows, 401 for one it does not), and a
real SMTP server on loopback. A good configuration exits 0; each broken one exits 1 and the
output names what is wrong."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta

import pytest
from alembic.script import ScriptDirectory
from rq import Queue, SimpleWorker
from sqlalchemy import text

from app import create_app
from app.extensions import db, migrate
from app.services.operations.health import HEARTBEAT_WINDOW
from app.task_locks import Task, TaskLocks
from tests.conftest import BACKEND
from tests.helpers import invoke

CLOSED = "127.0.0.1:9"  # nothing listens there
STRONG_SECRET_KEY = "a-production-secret-key-of-forty-characters"
STRONG_DATA_KEY = "a-different-production-data-key-forty-chars"


# -- helpers ---------------------------------------------------------------------------------


def doctor(app) -> tuple[int, dict[str, tuple[str, str]], str]:
    """Run `flask doctor`: its exit code, {check: (verdict, message)}, and the whole output."""
    result = invoke(app, "doctor")
    lines = result.output.strip().splitlines()
    checks = {}
    for line in lines[:-1]:
        verdict, name, message = line.split(None, 2)
        checks[name] = (verdict, message)
    return result.exit_code, checks, result.output


def verdicts(checks: dict[str, tuple[str, str]], verdict: str) -> set[str]:
    return {name for name, (found, _message) in checks.items() if found == verdict}


@pytest.fixture
def production(app_environ) -> None:
    """LUNAS_ENV=production with settings production accepts at start-up."""
    app_environ.update(
        LUNAS_ENV="production",
        SECRET_KEY=STRONG_SECRET_KEY,
        LUNAS_DATA_KEY=STRONG_DATA_KEY,
        PUBLIC_BASE_URL="https://lunas.example",
        MAIL_FROM="Lunas <no-reply@lunas.example>",
    )


@pytest.fixture
def live_worker(redis_conn) -> Iterator[SimpleWorker]:
    """A worker in RQ's registry, registered as a starting worker registers itself."""
    worker = SimpleWorker([Queue("default", connection=redis_conn)], connection=redis_conn)
    worker.register_birth()
    yield worker
    worker.register_death()


@pytest.fixture
def healthy(mailbox, fake_midtrans, live_worker, maintenance_runner) -> None:
    """Everything outside Lunas answers: SMTP, Midtrans (both keys valid), a worker. Ask for
    any fixture that edits app_environ before this one."""


@pytest.fixture
def maintenance_runner(app) -> Iterator[TaskLocks]:
    """This process holds every maintenance task's lock, as a worker process's maintenance
    thread does."""
    with app.app_context():
        locks = TaskLocks(db.engine.url)
    assert all(locks.holds(task) for task in Task)
    yield locks
    locks.release()


@pytest.fixture
def migrations_behind(app) -> Iterator[str]:
    """The database one migration behind the code (its alembic_version set back), restored
    afterwards: the schema itself is shared by the whole run."""
    with app.app_context():
        script = ScriptDirectory.from_config(migrate.get_config())
        head = script.get_current_head()
        previous = script.get_revision(head).down_revision
        set_version(previous)
        try:
            yield previous
        finally:
            set_version(head)


def set_version(revision: str | None) -> None:
    with db.engine.begin() as connection:
        connection.execute(text("DELETE FROM alembic_version"))
        if revision is not None:
            connection.execute(
                text("INSERT INTO alembic_version (version_num) VALUES (:v)"), {"v": revision}
            )


# -- a good configuration --------------------------------------------------------------------


@pytest.mark.postgres_only  # production on SQLite is itself a problem
@pytest.mark.usefixtures("production", "healthy", "project")
def test_a_good_production_configuration_passes_every_check(app, fake_midtrans, mailbox):
    code, checks, output = doctor(app)

    assert code == 0, output
    assert verdicts(checks, "ok") == set(checks), output
    assert list(checks) == [
        "settings",
        "keys",
        "base-url",
        "database",
        "migrations",
        "stored-secrets",
        "redis",
        "worker",
        "maintenance",
        "midtrans-sandbox",
        "midtrans-production",
        "notification-url",
        "smtp",
    ]
    assert output.strip().endswith("0 problem(s), 0 warning(s)")
    # The URL the operator pastes into the Midtrans dashboard is printed.
    assert "https://lunas.example/api/midtrans/notification" in checks["notification-url"][1]
    assert "Settings → Payment → Notification URL" in checks["notification-url"][1]
    assert "1 worker alive" in checks["worker"][1]
    assert checks["maintenance"][1].startswith("every task has its runner: ")
    assert checks["maintenance"][1].endswith(f":{os.getpid()}")
    # One harmless Get Status per environment, for an order nobody made.
    lookups = fake_midtrans.calls("GET", "/v2/lunas-doctor-")
    assert len(lookups) == 2 and all(call.path.endswith("/status") for call in lookups)
    # SMTP was tried, nothing sent.
    assert mailbox.messages == []
    # No secret is printed.
    for secret in (STRONG_SECRET_KEY, STRONG_DATA_KEY, fake_midtrans.server_key):
        assert secret not in output


@pytest.mark.usefixtures("healthy")
def test_a_test_configuration_warns_about_production_but_exits_0(app):
    code, checks, output = doctor(app)

    assert code == 0, output
    assert verdicts(checks, "problem") == set()
    assert verdicts(checks, "warn") == {"settings", "keys", "base-url", "notification-url"}
    # The production rules of app/config.py, said ahead of time.
    assert checks["keys"][1].startswith("production would refuse to start: SECRET_KEY must be")
    assert (
        "production would refuse it (PUBLIC_BASE_URL must be an https URL"
        in (checks["base-url"][1])
    )


@pytest.mark.postgres_only
@pytest.mark.usefixtures("mailbox", "fake_midtrans", "live_worker")
def test_a_task_without_a_runner_is_a_warning_naming_it(app):
    with app.app_context():
        locks = TaskLocks(db.engine.url)
    assert locks.holds(Task.WEBHOOK_SWEEPER) and locks.holds(Task.JANITOR)
    try:
        code, checks, output = doctor(app)
    finally:
        locks.release()

    assert code == 0, output
    verdict, message = checks["maintenance"]
    assert verdict == "warn"
    assert message.startswith("nobody runs the day totals, reconciler now")


# -- broken ones: each exits 1 and names the problem -------------------------------------------


@pytest.mark.usefixtures("healthy")
def test_a_midtrans_key_midtrans_refuses_is_a_problem(app, fake_midtrans):
    app.config["MIDTRANS_PRODUCTION_SERVER_KEY"] = "Mid-server-not-the-right-one"

    code, checks, output = doctor(app)

    assert code == 1
    assert verdicts(checks, "problem") == {"midtrans-production"}, output
    message = checks["midtrans-production"][1]
    assert "MIDTRANS_PRODUCTION_SERVER_KEY" in message and "HTTP 401" in message
    assert "Unknown Merchant server_key/id" in message
    assert checks["midtrans-sandbox"][0] == "ok"
    assert "Mid-server-not-the-right-one" not in output


@pytest.mark.usefixtures("healthy")
def test_an_environment_without_a_key_is_a_warning_not_a_problem(app):
    app.config["MIDTRANS_PRODUCTION_SERVER_KEY"] = None

    code, checks, _output = doctor(app)

    assert code == 0
    assert checks["midtrans-production"] == (
        "warn",
        "MIDTRANS_PRODUCTION_SERVER_KEY is not set: production is not set up on this server "
        "(its checkouts answer 503)",
    )


@pytest.fixture
def redis_closed(app_environ) -> None:
    app_environ["REDIS_URL"] = f"redis://{CLOSED}/0"


@pytest.mark.usefixtures("redis_closed", "mailbox", "fake_midtrans")
def test_redis_unreachable_is_a_problem_and_the_worker_goes_unchecked(app):
    code, checks, output = doctor(app)

    assert code == 1
    assert verdicts(checks, "problem") == {"redis"}, output
    assert checks["redis"][1].startswith(f"Redis at redis://{CLOSED}/0 does not answer")
    assert checks["worker"] == ("warn", "not checked: Redis does not answer")


@pytest.mark.usefixtures("healthy")
def test_migrations_behind_the_code_are_a_problem(app, migrations_behind):
    code, checks, output = doctor(app)

    assert code == 1
    assert verdicts(checks, "problem") == {"migrations"}, output
    message = checks["migrations"][1]
    assert message.startswith(f"the database is at {migrations_behind}, the code's newest")
    assert message.endswith("run `flask db upgrade` (the Procfile's release step)")


@pytest.mark.usefixtures("healthy")
def test_a_database_with_no_migration_applied_is_a_problem(app, migrations_behind):
    with app.app_context():
        set_version(None)  # migrations_behind puts the head back afterwards

    code, checks, _output = doctor(app)

    assert code == 1
    assert checks["migrations"][0] == "problem"
    assert checks["migrations"][1].startswith("the database has no migrations applied")


def test_an_unreachable_database_is_a_problem_and_what_needs_it_goes_unchecked(app_environ):
    # An app of its own: the `app` fixture's clean-up needs the database.
    url = f"postgresql+psycopg://postgres:hunter2@{CLOSED}/lunas"
    unreachable = create_app({**app_environ, "DATABASE_URL": url})

    code, checks, output = doctor(unreachable)

    assert code == 1
    assert checks["database"][0] == "problem"
    assert checks["database"][1].startswith(
        f"postgresql+psycopg://postgres:***@{CLOSED}/lunas does not answer: connection failed"
    )
    assert checks["migrations"] == ("warn", "not checked: the database does not answer")
    assert checks["stored-secrets"] == ("warn", "not checked: the database does not answer")
    assert "hunter2" not in output


@pytest.mark.usefixtures("mailbox", "fake_midtrans", "redis_conn")
def test_no_worker_running_is_a_problem(app):
    code, checks, output = doctor(app)

    assert code == 1
    assert verdicts(checks, "problem") == {"worker"}, output
    assert checks["worker"][1].startswith("no worker is running")
    assert "flask worker" in checks["worker"][1]


@pytest.mark.usefixtures("healthy")
def test_a_worker_whose_heartbeat_stopped_is_a_problem(app, clock):
    clock.shift(HEARTBEAT_WINDOW + timedelta(minutes=1))

    code, checks, _output = doctor(app)

    assert code == 1
    assert checks["worker"] == (
        "problem",
        "no worker alive: the latest heartbeat was 9 min ago; start one (`flask worker`, "
        "the Procfile's worker process)",
    )


@pytest.fixture
def smtp_closed(app_environ) -> None:
    app_environ["SMTP_URL"] = f"smtp://{CLOSED}"


@pytest.mark.usefixtures("smtp_closed", "fake_midtrans", "live_worker")
def test_an_smtp_server_that_refuses_the_connection_is_a_problem(app):
    code, checks, output = doctor(app)

    assert code == 1
    assert verdicts(checks, "problem") == {"smtp"}, output
    assert checks["smtp"][1].startswith(f"smtp://{CLOSED} cannot be reached")


@pytest.mark.usefixtures("healthy")
def test_an_smtp_server_that_refuses_the_login_is_a_problem(app, mailbox):
    # The loopback mailbox offers no AUTH: a server that will not take these credentials.
    app.config["SMTP_URL"] = f"smtp://ani:kata-sandi@127.0.0.1:{mailbox.port}"

    code, checks, output = doctor(app)

    assert code == 1
    assert verdicts(checks, "problem") == {"smtp"}, output
    assert checks["smtp"][1] == (
        f"smtp://127.0.0.1:{mailbox.port} refused: SMTP AUTH extension not supported by server."
    )
    assert "kata-sandi" not in output
    assert mailbox.messages == []


@pytest.fixture
def http_production(production, app_environ) -> None:
    # Production starts with this (a loopback host, for a trial on one machine), but Midtrans
    # and buyers cannot use it.
    app_environ["PUBLIC_BASE_URL"] = "http://127.0.0.1:5000"


@pytest.mark.usefixtures("http_production", "healthy")
def test_an_http_base_url_in_production_is_a_problem(app):
    code, checks, output = doctor(app)

    assert code == 1
    expected = {"base-url"} | ({"settings"} if BACKEND == "sqlite" else set())
    assert verdicts(checks, "problem") == expected, output
    assert checks["base-url"][1].startswith("PUBLIC_BASE_URL is http://127.0.0.1:5000, not https")
    assert checks["notification-url"][0] == "warn"
    assert "Midtrans cannot call it" in checks["notification-url"][1]


@pytest.mark.usefixtures("http_production", "redis_closed", "smtp_closed")
def test_every_problem_at_once_is_named_each_on_its_line(app, fake_midtrans, migrations_behind):
    app.config["MIDTRANS_PRODUCTION_SERVER_KEY"] = "Mid-server-not-the-right-one"

    code, checks, output = doctor(app)

    assert code == 1
    expected = {"base-url", "migrations", "redis", "midtrans-production", "smtp"}
    if BACKEND == "sqlite":
        expected.add("settings")
    assert verdicts(checks, "problem") == expected, output
    # Warnings: the worker and the notification URL; on PostgreSQL, no maintenance runner.
    warnings = 2 if BACKEND == "sqlite" else 3
    assert output.strip().endswith(f"{len(expected)} problem(s), {warnings} warning(s)")


@pytest.mark.usefixtures("healthy")
def test_a_data_key_that_cannot_open_the_stored_secrets_is_a_problem(app, project):
    app.config["LUNAS_DATA_KEY"] = "not-the-key-the-secrets-were-encrypted-with"

    code, checks, output = doctor(app)

    assert code == 1
    assert verdicts(checks, "problem") == {"stored-secrets"}, output
    assert checks["stored-secrets"][1].startswith(
        "LUNAS_DATA_KEY does not open the stored webhook signing secrets"
    )
