"""Fixtures: a real database (PostgreSQL, or SQLite on the second pass), real Redis, and
fakes only for what we don't own: Midtrans (a local HTTP server, or the built-in simulator)."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
import redis
import time_machine
from flask import Flask
from flask_migrate import upgrade
from rq import Queue, SimpleWorker
from rq.registry import FailedJobRegistry
from sqlalchemy import text
from werkzeug.serving import make_server

from app import create_app, jobs
from app.config import SIMULATOR_SERVER_KEY
from app.extensions import db
from app.worker import ThreadWorker
from tests.fakes import FakeMidtrans
from tests.helpers import ProjectKeys, create_payment, new_project
from tests.log_scan import findings, record_run
from tests.mailbox import Mailbox
from tests.portal_client import log_in

BACKEND = os.environ.get("LUNAS_TEST_DATABASE", "postgresql")
# One database per test run (named after the process), so runs on one machine never collide.
PG_SERVER = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432")
PG_DATABASE = f"lunas_test_{os.getpid()}"
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
SERVER_KEY = "SB-Mid-server-test-key-0123456789"
PRODUCTION_SERVER_KEY = "Mid-server-test-production-key-0123"


RUN_LOG = Path(__file__).resolve().parents[1] / "test-artifacts" / "logs" / "test-run.jsonl"


def pytest_sessionstart(session):
    session.config._lunas_log = record_run(RUN_LOG)


def pytest_sessionfinish(session, exitstatus):
    """The run's logs hold no secret, full email address or card number (tests/log_scan.py);
    a finding fails the run."""
    handler = getattr(session.config, "_lunas_log", None)
    if handler is None:
        return
    logging.getLogger().removeHandler(handler)
    handler.close()
    files = [RUN_LOG]
    factory = getattr(session.config, "_tmp_path_factory", None)
    if factory is not None:
        files += sorted(factory.getbasetemp().rglob("*.log"))
    found = findings(files, known=(SERVER_KEY, PRODUCTION_SERVER_KEY, SIMULATOR_SERVER_KEY))
    if found:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        message = "the run's logs hold what no log may:\n" + "\n".join(found[:50])
        if reporter is not None:
            reporter.write_line(message, red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_report_header(config):
    return f"lunas database backend: {BACKEND}; redis: {REDIS_URL}"


def _admin() -> psycopg.Connection:
    return psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True)


def _drop_abandoned_test_databases(conn: psycopg.Connection) -> None:
    """Databases left by earlier runs that were killed before they could clean up."""
    rows = conn.execute("SELECT datname FROM pg_database WHERE datname LIKE 'lunas_test_%'")
    for (name,) in rows.fetchall():
        pid = name.rsplit("_", 1)[1]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> Iterator[str]:
    if BACKEND == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'lunas-test.db'}"
        return
    with _admin() as conn:
        _drop_abandoned_test_databases(conn)
        conn.execute(f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{PG_DATABASE}"')
    yield f"{PG_SERVER.replace('postgresql://', 'postgresql+psycopg://')}/{PG_DATABASE}"
    with _admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)')


@pytest.fixture(scope="session")
def migrated(database_url, tmp_path_factory) -> str:
    """Build the schema once per run with the real Alembic migrations (no create_all)."""
    app = create_app(_environ(database_url, tmp_path_factory.mktemp("instance")))
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return database_url


def _environ(database_url: str, instance: Path, **overrides: str) -> dict[str, str]:
    environ = {
        "LUNAS_ENV": "test",
        "SECRET_KEY": "test-secret-key",
        "LUNAS_DATA_KEY": "test-data-key",
        "DATABASE_URL": database_url,
        "REDIS_URL": REDIS_URL,
        "PUBLIC_BASE_URL": "http://lunas.test",
        "MEDIA_DIR": str(instance / "media"),
        "MIDTRANS_SIMULATOR": "0",
        "MIDTRANS_SANDBOX_SERVER_KEY": SERVER_KEY,
        "MIDTRANS_PRODUCTION_SERVER_KEY": PRODUCTION_SERVER_KEY,
        "MIDTRANS_SANDBOX_SNAP_BASE": "http://127.0.0.1:9/snap",
        "MIDTRANS_SANDBOX_API_BASE": "http://127.0.0.1:9",
        "MIDTRANS_PRODUCTION_SNAP_BASE": "http://127.0.0.1:9/snap",
        "MIDTRANS_PRODUCTION_API_BASE": "http://127.0.0.1:9",
    }
    environ.update(overrides)
    return environ


@pytest.fixture
def app_environ(migrated, tmp_path) -> dict[str, str]:
    """Tests may edit this before the `app` fixture is first used."""
    return _environ(migrated, tmp_path / "instance")


@pytest.fixture
def midtrans_simulator(app_environ) -> None:
    """The built-in Midtrans simulator instead of the fake, as `make run` has it. Use it with
    `pytest.mark.usefixtures("midtrans_simulator")`, so it edits app_environ before the app."""
    app_environ["MIDTRANS_SIMULATOR"] = "1"
    del app_environ["MIDTRANS_SANDBOX_SERVER_KEY"]


@pytest.fixture
def quick_polling(app_environ) -> None:
    """The callback page polls every second for three seconds (production: every 3 s for
    60 s). Ask for it before `app` or anything built on it."""
    app_environ["CALLBACK_POLL_INTERVAL_SECONDS"] = "1"
    app_environ["CALLBACK_POLL_LIMIT_SECONDS"] = "3"


@pytest.fixture
def fake_midtrans(app) -> Iterator[FakeMidtrans]:
    """Both environments' Midtrans bases point at one fake (it accepts the sandbox key)."""
    fake = FakeMidtrans(SERVER_KEY)
    fake.start()
    app.config["MIDTRANS_PRODUCTION_SERVER_KEY"] = SERVER_KEY
    for environment in ("SANDBOX", "PRODUCTION"):
        app.config[f"MIDTRANS_{environment}_SNAP_BASE"] = f"{fake.url}/snap"
        app.config[f"MIDTRANS_{environment}_API_BASE"] = fake.url
    yield fake
    fake.stop()


@pytest.fixture
def app(app_environ) -> Iterator[Flask]:
    app = create_app(app_environ)
    yield app
    _close(app, truncate=True)


@pytest.fixture
def app_with(app_environ) -> Iterator[Callable[..., Flask]]:
    """Another app on the test's settings with some changed (`app_with(REDIS_URL=...)`),
    closed after the test; `app`, if the test has it too, keeps the settings as they were."""
    made: list[Flask] = []

    def build(**overrides: str) -> Flask:
        made.append(create_app({**app_environ, **overrides}))
        return made[-1]

    yield build
    for other in made:
        _close(other, truncate=False)


def _close(app: Flask, truncate: bool) -> None:
    """Stop an app's background threads and close its connections (and, for the test's
    own app, empty the tables for the next test)."""
    for name in ("lunas_status_cache", "lunas_rate_counters"):
        background = app.extensions.get(name)
        if background is not None:
            background.stop()
    with app.app_context():
        db.session.remove()
        if truncate:
            _truncate_all()
        db.engine.dispose()
    redis_client = app.extensions.get("lunas_redis")
    if redis_client is not None:
        redis_client.close()


def _truncate_all() -> None:
    tables = list(reversed(db.metadata.sorted_tables))
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            names = ", ".join(table.name for table in tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(table.delete())


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield


@pytest.fixture
def live_server(app) -> Iterator[str]:
    """The app on a real socket (threaded), with PUBLIC_BASE_URL pointing at it."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    app.config["PUBLIC_BASE_URL"] = url
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield url
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture
def project(app) -> ProjectKeys:
    with app.app_context():
        return new_project(name="Warung Bu Sari", template="https://karejo.example/{store_slug}")


@pytest.fixture
def strangers(app) -> ProjectKeys:
    """A project of another user (stranger@example.com), for tenancy tests."""
    with app.app_context():
        return new_project(name="Toko Orang Lain", owner="stranger@example.com")


@pytest.fixture
def purchase_id(client, project, fake_midtrans) -> str:
    """A pending sandbox payment of 75 000 IDR, created through the platform API."""
    return create_payment(client, project)


@pytest.fixture
def mine(app, client) -> ProjectKeys:
    """A project of owner@example.com, who is signed in on `client` (portal tests)."""
    with app.app_context():
        keys = new_project(name="Warung Bu Sari")
    log_in(client)
    return keys


@pytest.fixture
def redis_conn() -> Iterator[redis.Redis]:
    connection = redis.Redis.from_url(REDIS_URL)
    connection.flushdb()
    yield connection
    connection.close()


@pytest.fixture
def run_worker(app, redis_conn, monkeypatch) -> Callable[[], None]:
    """`run_worker()`: what the RQ worker process does, in burst mode: whatever was enqueued
    runs now, with this app."""
    monkeypatch.setattr(jobs, "_app", None)  # restored after the test
    jobs.use_app(app)

    def drain() -> None:
        SimpleWorker([Queue("default", connection=redis_conn)], connection=redis_conn).work(
            burst=True
        )

    return drain


@pytest.fixture
def clock() -> Iterator[time_machine.Traveller]:
    """Python's clock (datetime.now, time.time, in every thread), from the real now on and
    ticking; `clock.shift(timedelta)` or `clock.move_to(moment)` moves it on. Lunas takes every
    time from it (app.models.base.utcnow), so a due time or an expiry can simply come, instead of
    rows being dated back by hand. PostgreSQL's own clock does not move: Lunas never asks it."""
    with time_machine.travel(datetime.now(UTC), tick=True) as traveller:
        yield traveller


@pytest.fixture
def mailbox(app_environ) -> Iterator[Mailbox]:
    """A real SMTP server on loopback that Lunas sends its mail to (SMTP_URL); ask for it
    before `app`."""
    box = Mailbox()
    box.start()
    app_environ["SMTP_URL"] = box.url
    yield box
    box.stop()


@pytest.fixture
def run_workers(app, redis_conn, monkeypatch) -> Callable[[int], None]:
    """`run_workers(n)`: n RQ workers at once (threads standing in for n worker processes),
    each in burst mode: they share whatever was enqueued, and return when the queue is empty
    and every job they took has ended. A job that raised fails the test."""
    monkeypatch.setattr(jobs, "_app", None)  # restored after the test
    jobs.use_app(app)

    def drain(count: int) -> None:
        queue = Queue("default", connection=redis_conn)
        workers = [ThreadWorker([queue], connection=redis_conn) for _ in range(count)]
        threads = [
            threading.Thread(target=worker.work, kwargs={"burst": True}, daemon=True)
            for worker in workers
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert not any(thread.is_alive() for thread in threads), "a worker did not finish"
        failed = FailedJobRegistry(queue=queue)
        assert failed.count == 0, f"jobs raised: {failed.get_job_ids()}"

    return drain
