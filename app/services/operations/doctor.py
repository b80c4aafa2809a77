"""`flask doctor`: check a deployment and say, in plain words, what is wrong.

Each check gives ok, warn or problem with one sentence; none raises (a check that breaks is
itself reported as a problem). The command prints one line per check and exits 1 on any
problem.

Production's start-up refusals (app/config.py) have already passed when this runs, since the
app would not have started otherwise: in production the key checks confirm them, elsewhere
they say what production would refuse, with the same rules (`key_problems`,
`base_url_problem`). The rest is what start-up cannot know: whether the database, Redis,
a worker, Midtrans and the SMTP server answer, and whether the migrations are current.

Across all tenants on purpose, like health.py: this is the operator's view. Nothing secret is
printed: URLs are shown without their passwords, keys only by their setting's name."""

from __future__ import annotations

import logging
import secrets
import smtplib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from urllib.parse import unquote, urlsplit

from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import current_app
from redis.exceptions import RedisError
from sqlalchemy import select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from app.config import MIN_KEY_LENGTH, base_url_problem, key_problems
from app.extensions import db, migrate, redis_connection
from app.hosts import is_loopback_host
from app.midtrans.client import (
    MidtransClient,
    MidtransError,
    MidtransNotFoundError,
    MidtransUnavailableError,
    settings_for,
)
from app.models import Environment, WebhookEndpoint
from app.models.base import utcnow
from app.security import decrypt
from app.services.mail import smtp
from app.services.mail.smtp import MailConfigError
from app.services.operations import health
from app.task_locks import APPLICATION_NAME, Task, runners

# What Midtrans calls (create.py names it on every Snap request) and where buyers come back.
NOTIFICATION_PATH = "/api/midtrans/notification"
FINISH_PATH = "/purchase/callback"
SERVER_KEY_SETTINGS = {
    Environment.SANDBOX: "MIDTRANS_SANDBOX_SERVER_KEY",
    Environment.PRODUCTION: "MIDTRANS_PRODUCTION_SERVER_KEY",
}
MIGRATION_LOGGER = logging.getLogger("alembic.runtime.migration")
RUN_A_WORKER = "start one (`flask worker`, the Procfile's worker process)"


class Verdict(StrEnum):
    OK = "ok"
    WARN = "warn"
    PROBLEM = "problem"


@dataclass(frozen=True)
class Check:
    name: str
    verdict: Verdict
    message: str


Outcome = tuple[Verdict, str]


def run_checks() -> list[Check]:
    """Every check, in the order a deployment is built: settings, database, Redis, worker,
    Midtrans, mail. A check that needs the database or Redis is not run without it."""
    checks = [
        _run("settings", _settings),
        _run("keys", _keys),
        _run("base-url", _base_url),
    ]
    database = _run("database", _database)
    checks.append(database)

    def needing_the_database(name: str, check: Callable[[], Outcome]) -> Check:
        if database.verdict is Verdict.PROBLEM:
            return Check(name, Verdict.WARN, "not checked: the database does not answer")
        return _run(name, check)

    checks.append(needing_the_database("migrations", _migrations))
    checks.append(needing_the_database("stored-secrets", _stored_secrets))
    redis = _run("redis", _redis)
    checks.append(redis)
    if redis.verdict is Verdict.PROBLEM:
        checks.append(Check("worker", Verdict.WARN, "not checked: Redis does not answer"))
    else:
        checks.append(_run("worker", _worker))
    checks.append(needing_the_database("maintenance", _maintenance))
    for environment in Environment:
        checks.append(_run(f"midtrans-{environment}", lambda env=environment: _midtrans(env)))
    checks.append(_run("notification-url", _notification_url))
    checks.append(_run("smtp", _smtp))
    return checks


def _run(name: str, check: Callable[[], Outcome]) -> Check:
    try:
        verdict, message = check()
    except Exception as exc:  # a diagnosis must go on: a broken check is one more finding
        verdict, message = Verdict.PROBLEM, f"the check itself failed: {_short(exc)}"
    return Check(name, verdict, message)


# -- settings --------------------------------------------------------------------------------


def _production() -> bool:
    return current_app.config["LUNAS_ENV"] == "production"


def _settings() -> Outcome:
    config = current_app.config
    backend = make_url(config["SQLALCHEMY_DATABASE_URI"]).get_backend_name()
    facts = (
        f"DATABASE_URL is {backend}, REGISTRATION={config['REGISTRATION']}, "
        f"TRUSTED_PROXY_HOPS={config['TRUSTED_PROXY_HOPS']}"
    )
    if not _production():
        return Verdict.WARN, (
            f"LUNAS_ENV={config['LUNAS_ENV']}: not a production configuration (SECRET_KEY and "
            f"LUNAS_DATA_KEY may be the ones generated into instance/); {facts}"
        )
    if backend == "sqlite":
        return Verdict.PROBLEM, (
            "DATABASE_URL is SQLite (unset, or sqlite:…): production needs PostgreSQL, "
            "postgresql+psycopg://user:password@host/database"
        )
    if config["REGISTRATION"] == "open":
        return Verdict.WARN, (
            f"REGISTRATION=open: anyone can sign up in the portal (production's default is "
            f"invite); {facts}"
        )
    return Verdict.OK, f"LUNAS_ENV=production, SECRET_KEY and LUNAS_DATA_KEY set, {facts}"


def _keys() -> Outcome:
    config = current_app.config
    problems = key_problems(config["SECRET_KEY"], config["LUNAS_DATA_KEY"])
    if not problems:
        return Verdict.OK, (
            f"SECRET_KEY and LUNAS_DATA_KEY are at least {MIN_KEY_LENGTH} characters and differ"
        )
    if _production():
        return Verdict.PROBLEM, "; ".join(problems)
    return Verdict.WARN, "production would refuse to start: " + "; ".join(problems)


def _base_url() -> Outcome:
    url = current_app.config["PUBLIC_BASE_URL"]
    if urlsplit(url).scheme == "https":
        return Verdict.OK, f"PUBLIC_BASE_URL is {url}"
    if _production():
        # Start-up allows this only with a loopback host (a trial on one machine).
        return Verdict.PROBLEM, (
            f"PUBLIC_BASE_URL is {url}, not https: production allows that only for a trial on "
            "this machine; Midtrans, buyers and merchants need the public https address"
        )
    refusal = base_url_problem(url)
    later = f"production would refuse it ({refusal})" if refusal else "production needs https"
    environment = current_app.config["LUNAS_ENV"]
    return Verdict.WARN, f"PUBLIC_BASE_URL is {url}: fine for {environment}; {later}"


# -- database --------------------------------------------------------------------------------


def _database() -> Outcome:
    where = make_url(current_app.config["SQLALCHEMY_DATABASE_URI"]).render_as_string(
        hide_password=True
    )
    try:
        with db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        return Verdict.PROBLEM, f"{where} does not answer: {_short(exc)}"
    return Verdict.OK, f"{where} answers"


def _migrations() -> Outcome:
    """Alembic's newest revision in migrations/ against the database's alembic_version."""
    script = ScriptDirectory.from_config(migrate.get_config())
    heads = set(script.get_heads())
    with db.engine.connect() as connection, _quiet(MIGRATION_LOGGER):
        current = set(MigrationContext.configure(connection).get_current_heads())
    if len(heads) > 1:
        return Verdict.PROBLEM, f"migrations/ has several heads ({_revisions(heads)}): merge them"
    if current == heads:
        return Verdict.OK, f"the database is at {_revisions(heads)}, the newest migration"
    if not current:
        return Verdict.PROBLEM, (
            "the database has no migrations applied: run `flask db upgrade` "
            "(the Procfile's release step)"
        )
    known = {revision.revision for revision in script.walk_revisions()}
    unknown = current - known
    if unknown:
        return Verdict.PROBLEM, (
            f"the database is at {_revisions(unknown)}, which this code's migrations/ does not "
            "have: it was migrated by a newer release; deploy that one"
        )
    return Verdict.PROBLEM, (
        f"the database is at {_revisions(current)}, the code's newest migration is "
        f"{_revisions(heads)}: run `flask db upgrade` (the Procfile's release step)"
    )


@contextmanager
def _quiet(logger: logging.Logger) -> Iterator[None]:
    """Alembic says "Context impl PostgresqlImpl" at INFO on every MigrationContext: noise in
    a report of one line per check."""
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


def _revisions(revisions: set[str]) -> str:
    return ", ".join(sorted(revisions))


def _stored_secrets() -> Outcome:
    """LUNAS_DATA_KEY must be the key the webhook signing secrets were encrypted with (a
    database restored without its key can sign no webhook)."""
    try:
        ciphertext = db.session.scalar(
            select(WebhookEndpoint.secret_ciphertext).order_by(WebhookEndpoint.id.desc()).limit(1)
        )
    except SQLAlchemyError as exc:  # no schema yet: the migrations check says why
        return Verdict.WARN, f"not checked: {_short(exc)}"
    finally:
        db.session.rollback()
    if ciphertext is None:
        return Verdict.OK, "no webhook signing secret is stored yet"
    try:
        decrypt(ciphertext)
    except RuntimeError:
        return Verdict.PROBLEM, (
            "LUNAS_DATA_KEY does not open the stored webhook signing secrets: it is not the key "
            "they were encrypted with (changed, or the database restored without its key), so "
            "no webhook can be signed"
        )
    return Verdict.OK, "LUNAS_DATA_KEY opens the stored webhook signing secrets"


# -- Redis and the worker --------------------------------------------------------------------


def _redis() -> Outcome:
    where = _without_credentials(current_app.config["REDIS_URL"])
    try:
        redis_connection().ping()
    except RedisError as exc:
        return Verdict.PROBLEM, (
            f"Redis at {where} does not answer ({_short(exc)}): no job can be queued or run; "
            "webhooks wait in the database until it is back"
        )
    return Verdict.OK, f"Redis at {where} answers"


def _worker() -> Outcome:
    workers = health.worker_heartbeats()
    if not workers.reachable:
        return Verdict.WARN, f"not checked: Redis does not answer ({workers.error})"
    now = utcnow()
    alive = workers.alive
    if alive:
        newest = alive[0]
        # A worker process runs WEBHOOK_WORKER_THREADS RQ workers, one per thread.
        processes = len({(beat.hostname, beat.pid) for beat in alive})
        threads = f" ({len(alive)} RQ workers)" if len(alive) > processes else ""
        return Verdict.OK, (
            f"{_count(processes, 'worker')} alive{threads}; latest heartbeat "
            f"{_age(now - newest.last_heartbeat)} ago ({newest.name} on {newest.hostname}, "
            f"pid {newest.pid})"
        )
    if workers.last_heartbeat is not None:
        return Verdict.PROBLEM, (
            f"no worker alive: the latest heartbeat was {_age(now - workers.last_heartbeat)} "
            f"ago; {RUN_A_WORKER}"
        )
    return Verdict.PROBLEM, (
        f"no worker is running: webhooks, mail and the pending janitor wait; {RUN_A_WORKER}"
    )


def _maintenance() -> Outcome:
    """Which worker process runs each maintenance task (app/task_locks.py), as PostgreSQL's
    lock table says."""
    if db.engine.dialect.name != "postgresql":
        return Verdict.OK, "every worker process runs every task (SQLite: no advisory locks)"
    with db.engine.connect() as connection:
        running = runners(connection)
    missing = [task.label for task in Task if task not in running]
    if missing:
        return Verdict.WARN, (
            f"nobody runs the {', '.join(missing)} now (no worker process, or one is taking "
            f"over within a minute); {RUN_A_WORKER}"
        )
    hosts = sorted({name.removeprefix(APPLICATION_NAME).strip() for name in running.values()})
    return Verdict.OK, f"every task has its runner: {', '.join(hosts)}"


# -- Midtrans ---------------------------------------------------------------------------------


def _midtrans(environment: Environment) -> Outcome:
    """A harmless Get Status for an order nobody made: Midtrans answers "Transaction doesn't
    exist" to a key it knows, and 401 to one it does not."""
    config = current_app.config
    setting = SERVER_KEY_SETTINGS[environment]
    if environment == Environment.SANDBOX and config["MIDTRANS_SIMULATOR"]:
        return Verdict.OK, (
            "sandbox is the built-in simulator (MIDTRANS_SIMULATOR on): no Midtrans key to check"
        )
    try:
        settings = settings_for(environment)
    except MidtransUnavailableError:
        return Verdict.WARN, (
            f"{setting} is not set: {environment} is not set up on this server (its checkouts "
            "answer 503)"
        )
    order_id = f"lunas-doctor-{secrets.token_hex(8)}"
    try:
        MidtransClient(settings).get_status(order_id, config["MIDTRANS_STATUS_TIMEOUT_SECONDS"])
    except MidtransNotFoundError:
        return Verdict.OK, (
            f"{setting} accepted by {settings.api_base} (Get Status of a made-up order: "
            "no such transaction)"
        )
    except MidtransError as exc:
        if exc.http_status == 401:
            return Verdict.PROBLEM, (
                f"Midtrans refused {setting} (HTTP 401, {exc.message}): copy the server key of "
                f"the {environment} environment from the Midtrans dashboard (a sandbox key does "
                "not work in production, nor the reverse)"
            )
        return Verdict.PROBLEM, f"could not check {setting} at {settings.api_base}: {exc.message}"
    return Verdict.WARN, (
        f"Midtrans answered a made-up order id ({order_id}) with a transaction: is "
        f"{settings.api_base} Midtrans?"
    )


def _notification_url() -> Outcome:
    base = current_app.config["PUBLIC_BASE_URL"]
    parts = urlsplit(base)
    message = (
        f"Midtrans must call {base}{NOTIFICATION_PATH}: set it in the Midtrans dashboard of each "
        f"environment with a key (Settings → Payment → Notification URL); Finish URL "
        f"{base}{FINISH_PATH}"
    )
    if parts.scheme != "https" or is_loopback_host(parts.hostname):
        return Verdict.WARN, (
            f"{message}. Midtrans cannot call it: it asks for a public https URL (offline, "
            "`flask midtrans notify` stands in)"
        )
    if parts.port not in (None, 443):
        return Verdict.WARN, f"{message}. Midtrans asks for a standard port, not {parts.port}"
    return Verdict.OK, message


# -- mail --------------------------------------------------------------------------------------


def _smtp() -> Outcome:
    """Connect, EHLO, STARTTLS and log in as app/services/mail/smtp.py does, then stop
    before sending anything."""
    config = current_app.config
    url = config["SMTP_URL"]
    if not url:
        verdict = Verdict.PROBLEM if _production() else Verdict.WARN
        return verdict, (
            "SMTP_URL is not set: no verification or password-reset mail can be sent "
            "(merchants who sign up cannot confirm their address)"
        )
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        return Verdict.PROBLEM, "SMTP_URL must look like smtp://user:pass@host:587"
    where = _without_credentials(url, 465 if parts.scheme == "smtps" else 587)
    try:
        encrypted = _smtp_handshake(parts)
    except MailConfigError as exc:
        return Verdict.PROBLEM, f"{where}: {exc}"
    except smtplib.SMTPAuthenticationError as exc:
        return Verdict.PROBLEM, f"{where} refused the login of {unquote(parts.username)}: {exc}"
    except smtplib.SMTPException as exc:
        return Verdict.PROBLEM, f"{where} refused: {_short(exc)}"
    except OSError as exc:  # refused, unreachable, timed out, or TLS failed
        return Verdict.PROBLEM, f"{where} cannot be reached: {_short(exc)}"
    done = "logged in" if parts.username else "answered"
    if not encrypted and not is_loopback_host(parts.hostname):
        return Verdict.WARN, f"{where} {done}, but offers no STARTTLS: mail travels in clear"
    if _production() and config["MAIL_FROM"].rstrip(">").endswith("@localhost"):
        return Verdict.WARN, (
            f"{where} {done}; MAIL_FROM is {config['MAIL_FROM']}: set an address of your "
            "domain, or mail will be refused or filed as spam"
        )
    return Verdict.OK, f"{where} {done} (nothing sent)"


def _smtp_handshake(parts) -> bool:
    """True when the session is encrypted (smtps, or STARTTLS); nothing is sent."""
    with smtp.session(parts) as (_, encrypted):
        return encrypted


# -- wording -----------------------------------------------------------------------------------


def _without_credentials(url: str, default_port: int | None = None) -> str:
    parts = urlsplit(url)
    port = parts.port or default_port
    host = f"{parts.hostname}:{port}" if port else (parts.hostname or "")
    return parts._replace(netloc=host).geturl()


def _short(exc: BaseException) -> str:
    """The first line of an error (a driver's, for SQLAlchemy's), without the SQL after it."""
    cause = getattr(exc, "orig", None) or exc
    lines = str(cause).strip().splitlines()
    return lines[0] if lines else type(cause).__name__


def _age(delta: timedelta) -> str:
    seconds = max(int(delta.total_seconds()), 0)
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 2 * 3600:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h"


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"
