"""Every setting Lunas reads, with its environment variable and default (the README's
"Configuration" lists them)."""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path
from urllib.parse import urlsplit

import limits

from app.hosts import is_loopback_host

ENVIRONMENTS = ("development", "test", "production")
REGISTRATION_POLICIES = ("open", "invite", "closed")
LOG_FORMATS = ("json", "text")

_TRUE = {"1", "true", "on", "yes"}
_FALSE = {"0", "false", "off", "no"}

SIMULATOR_SERVER_KEY = "SB-Mid-server-lunas-simulator"
MIN_KEY_LENGTH = 32


class ConfigError(RuntimeError):
    """A setting is missing or malformed; start-up must stop and name it."""


def parse_switch(name: str, value: str | None, default: bool) -> bool:
    if value is None or value.strip() == "":
        return default
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ConfigError(f"{name} must be one of 1/0, true/false, on/off, yes/no (got {value!r})")


RATE_LIMIT_DEFAULTS = {
    "RATE_LIMIT_API_PRODUCTION": "600/minute",
    "RATE_LIMIT_API_SANDBOX": "120/minute",
    "RATE_LIMIT_VERIFY": "60/minute",
    "RATE_LIMIT_VERIFY_ADDRESS": "6000/minute",
    "RATE_LIMIT_LOGIN": "20/minute",
    "RATE_LIMIT_REGISTER": "20/minute",
    "RATE_LIMIT_LINK": "10/minute",  # SPEC §13: submitting an item's link page
}


def parse_rate_limit(name: str, value: str | None, default: str) -> str:
    """A Flask-Limiter value ("10/minute", "100 per hour") or "off"."""
    text = (value or default).strip().lower()
    if text == "off":
        return text
    try:
        limits.parse_many(text)
    except ValueError:
        raise ConfigError(f"{name} must be a rate limit such as 10/minute, or off") from None
    return text


# Each delivery thread holds a database connection while it works and a Redis connection while
# it waits: 32 per process is far past where this machine's two cores stop gaining.
MAX_WORKER_THREADS = 32


def parse_int(name: str, value: str | None, default: int, minimum: int = 1) -> int:
    if value is None or value.strip() == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number (got {value!r})") from None
    if number < minimum:
        raise ConfigError(f"{name} must be at least {minimum} (got {number})")
    return number


def parse_schedule(name: str, value: str | None, default: tuple[int, ...]) -> tuple[int, ...]:
    if value is None or value.strip() == "":
        return default
    try:
        delays = tuple(int(part) for part in value.split(","))
    except ValueError:
        raise ConfigError(f"{name} must be comma-separated seconds (got {value!r})") from None
    if not delays or any(delay < 0 for delay in delays):
        raise ConfigError(f"{name} must list non-negative seconds (got {value!r})")
    return delays


def _instance_secret(instance_path: Path, filename: str) -> str:
    """A random secret generated once into the instance folder, so every process shares it."""
    instance_path.mkdir(parents=True, exist_ok=True)
    path = instance_path / filename
    try:
        # O_EXCL: of two processes starting at once, one writes and both read the same value.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
    for _ in range(50):  # the process that created it may not have written it yet
        value = path.read_text().strip()
        if value:
            return value
        time.sleep(0.02)
    raise ConfigError(f"{path} is empty; delete it so it can be generated again")


def key_problems(secret_key: str, data_key: str) -> list[str]:
    """What production refuses in SECRET_KEY and LUNAS_DATA_KEY, in the order start-up names
    it (empty: both are fine). `flask doctor` reports the same rules in any environment."""
    problems = [
        f"{name} must be at least {MIN_KEY_LENGTH} characters in production"
        for name, value in (("SECRET_KEY", secret_key), ("LUNAS_DATA_KEY", data_key))
        if len(value) < MIN_KEY_LENGTH
    ]
    if secret_key == data_key:
        problems.append("SECRET_KEY and LUNAS_DATA_KEY must differ")
    return problems


def base_url_problem(public_base_url: str) -> str | None:
    """Why production refuses this PUBLIC_BASE_URL, or None when it accepts it."""
    base = urlsplit(public_base_url)
    if base.scheme != "https" and not is_loopback_host(base.hostname):
        return (
            "PUBLIC_BASE_URL must be an https URL in production "
            "(a loopback host is allowed, for a trial on one machine)"
        )
    return None


class Config:
    """Built from a mapping of environment variables; tests pass overrides on top."""

    def __init__(self, environ: dict[str, str], instance_path: Path) -> None:
        get = environ.get
        self.LUNAS_ENV = get("LUNAS_ENV", "development").strip() or "development"
        if self.LUNAS_ENV not in ENVIRONMENTS:
            raise ConfigError(f"LUNAS_ENV must be one of {', '.join(ENVIRONMENTS)}")
        production = self.LUNAS_ENV == "production"
        development = self.LUNAS_ENV == "development"

        secret_key = get("SECRET_KEY")
        if not secret_key:
            if production:
                raise ConfigError("SECRET_KEY is required when LUNAS_ENV=production")
            secret_key = _instance_secret(instance_path, "secret_key")
        self.SECRET_KEY = secret_key

        data_key = get("LUNAS_DATA_KEY")
        if not data_key:
            if production:
                raise ConfigError("LUNAS_DATA_KEY is required when LUNAS_ENV=production")
            data_key = _instance_secret(instance_path, "data_key")
        self.LUNAS_DATA_KEY = data_key

        self.SQLALCHEMY_DATABASE_URI = get("DATABASE_URL") or f"sqlite:///{instance_path}/lunas.db"
        # Verify's rows kept in memory, dropped by PostgreSQL's NOTIFY on every change
        # (app/services/checkout/status_cache.py); PostgreSQL only.
        self.STATUS_CACHE = parse_switch("STATUS_CACHE", get("STATUS_CACHE"), True)
        self.REDIS_URL = get("REDIS_URL", "redis://localhost:6379/0")
        self.PUBLIC_BASE_URL = get("PUBLIC_BASE_URL", "http://localhost:5000").rstrip("/")

        self.MIDTRANS_SANDBOX_SERVER_KEY = get("MIDTRANS_SANDBOX_SERVER_KEY") or None
        self.MIDTRANS_PRODUCTION_SERVER_KEY = get("MIDTRANS_PRODUCTION_SERVER_KEY") or None
        self.MIDTRANS_SANDBOX_SNAP_BASE = get(
            "MIDTRANS_SANDBOX_SNAP_BASE", "https://app.sandbox.midtrans.com/snap"
        ).rstrip("/")
        self.MIDTRANS_SANDBOX_API_BASE = get(
            "MIDTRANS_SANDBOX_API_BASE", "https://api.sandbox.midtrans.com"
        ).rstrip("/")
        self.MIDTRANS_PRODUCTION_SNAP_BASE = get(
            "MIDTRANS_PRODUCTION_SNAP_BASE", "https://app.midtrans.com/snap"
        ).rstrip("/")
        self.MIDTRANS_PRODUCTION_API_BASE = get(
            "MIDTRANS_PRODUCTION_API_BASE", "https://api.midtrans.com"
        ).rstrip("/")
        self.MIDTRANS_SIMULATOR = parse_switch(
            "MIDTRANS_SIMULATOR",
            get("MIDTRANS_SIMULATOR"),
            development and not self.MIDTRANS_SANDBOX_SERVER_KEY,
        )
        if self.MIDTRANS_SIMULATOR and production:
            raise ConfigError("MIDTRANS_SIMULATOR cannot be on when LUNAS_ENV=production")
        # A demo store page for the walk-through's store URL (development only).
        self.DEMO_STORE = parse_switch("DEMO_STORE", get("DEMO_STORE"), development)
        if self.DEMO_STORE and production:
            raise ConfigError("DEMO_STORE cannot be on when LUNAS_ENV=production")
        self.MIDTRANS_CONFIRM_STATUS = parse_switch(
            "MIDTRANS_CONFIRM_STATUS", get("MIDTRANS_CONFIRM_STATUS"), True
        )
        self.MIDTRANS_CREATE_TIMEOUT_SECONDS = 10.0
        self.MIDTRANS_STATUS_TIMEOUT_SECONDS = 5.0
        # Refund, cancel and expire: a refund left without an answer is asked about again later.
        self.MIDTRANS_ACTION_TIMEOUT_SECONDS = 10.0

        self.CHECKOUT_EXPIRY_MINUTES = parse_int(
            "CHECKOUT_EXPIRY_MINUTES", get("CHECKOUT_EXPIRY_MINUTES"), 1440
        )
        self.PENDING_GRACE_MINUTES = 15
        self.JANITOR_INTERVAL_SECONDS = parse_int(
            "JANITOR_INTERVAL_SECONDS", get("JANITOR_INTERVAL_SECONDS"), 60
        )
        # The reconciler's Get Status calls a minute, over every worker process (one runs it).
        self.RECONCILE_CALLS_PER_MINUTE = parse_int(
            "RECONCILE_CALLS_PER_MINUTE", get("RECONCILE_CALLS_PER_MINUTE"), 60
        )
        self.CREDENTIAL_GRACE_HOURS = 24
        # How often the worker stores closed days' totals for the portal overview.
        self.DAY_TOTALS_INTERVAL_SECONDS = parse_int(
            "DAY_TOTALS_INTERVAL_SECONDS", get("DAY_TOTALS_INTERVAL_SECONDS"), 300
        )
        self.WEBHOOK_SWEEP_INTERVAL_SECONDS = parse_int(
            "WEBHOOK_SWEEP_INTERVAL_SECONDS", get("WEBHOOK_SWEEP_INTERVAL_SECONDS"), 15
        )
        # How long notifications whose signature never verified are kept (on no payment).
        self.UNVERIFIED_EVENT_RETENTION_DAYS = parse_int(
            "UNVERIFIED_EVENT_RETENTION_DAYS", get("UNVERIFIED_EVENT_RETENTION_DAYS"), 7
        )

        # The buyer's callback page: how often it polls verify while pending, and for how long
        # before it stops and offers "Cek lagi" (also bounds the no-JavaScript refreshes).
        self.CALLBACK_POLL_INTERVAL_SECONDS = parse_int(
            "CALLBACK_POLL_INTERVAL_SECONDS", get("CALLBACK_POLL_INTERVAL_SECONDS"), 3
        )
        self.CALLBACK_POLL_LIMIT_SECONDS = parse_int(
            "CALLBACK_POLL_LIMIT_SECONDS", get("CALLBACK_POLL_LIMIT_SECONDS"), 60
        )

        self.WEBHOOK_TIMEOUT_SECONDS = parse_int(
            "WEBHOOK_TIMEOUT_SECONDS", get("WEBHOOK_TIMEOUT_SECONDS"), 15
        )
        # Attempts one endpoint may have in flight at once, over every worker process.
        self.WEBHOOK_MAX_IN_FLIGHT_PER_ENDPOINT = parse_int(
            "WEBHOOK_MAX_IN_FLIGHT_PER_ENDPOINT", get("WEBHOOK_MAX_IN_FLIGHT_PER_ENDPOINT"), 2
        )
        # Deliveries one worker process makes at once, each in a thread that is an RQ worker
        # of its own: one slow merchant holds one thread, not the process.
        self.WEBHOOK_WORKER_THREADS = parse_int(
            "WEBHOOK_WORKER_THREADS", get("WEBHOOK_WORKER_THREADS"), 8
        )
        if self.WEBHOOK_WORKER_THREADS > MAX_WORKER_THREADS:
            raise ConfigError(
                f"WEBHOOK_WORKER_THREADS must be at most {MAX_WORKER_THREADS} "
                f"(got {self.WEBHOOK_WORKER_THREADS})"
            )
        self.WEBHOOK_RETRY_SCHEDULE = parse_schedule(
            "WEBHOOK_RETRY_SCHEDULE",
            get("WEBHOOK_RETRY_SCHEDULE"),
            (5, 300, 1800, 7200, 18000, 36000, 36000),
        )
        self.WEBHOOK_ALLOW_PRIVATE_TARGETS = parse_switch(
            "WEBHOOK_ALLOW_PRIVATE_TARGETS", get("WEBHOOK_ALLOW_PRIVATE_TARGETS"), not production
        )
        self.WEBHOOK_REQUIRE_HTTPS = parse_switch(
            "WEBHOOK_REQUIRE_HTTPS", get("WEBHOOK_REQUIRE_HTTPS"), production
        )

        # Items (SPEC §13): what a hosted link's checkouts live, and where uploaded images and
        # deliveries are kept (one folder shared by every web process).
        self.ITEM_LINK_EXPIRY_MINUTES = parse_int(
            "ITEM_LINK_EXPIRY_MINUTES", get("ITEM_LINK_EXPIRY_MINUTES"), 60, minimum=5
        )
        self.MEDIA_DIR = Path(get("MEDIA_DIR") or instance_path / "media")
        # SPEC §12's limits (app/rate_limits.py): per credential on the platform API, per
        # address (and order id, or email) on verify, login, register and an item's link;
        # all "off" in tests.
        for name, default in RATE_LIMIT_DEFAULTS.items():
            setattr(
                self,
                name,
                parse_rate_limit(name, get(name), "off" if self.LUNAS_ENV == "test" else default),
            )
        # Flask-Limiter keeps its counters beside everything else in Redis, and never stops a
        # request because Redis is away (it logs and lets it through). Short timeouts: a hung
        # Redis costs a request half a second, not its whole life.
        self.RATELIMIT_STORAGE_URI = self.REDIS_URL
        self.RATELIMIT_STORAGE_OPTIONS = {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}
        self.RATELIMIT_SWALLOW_ERRORS = True
        self.RATELIMIT_HEADERS_ENABLED = False  # app/rate_limits.py sets SPEC §12's own

        # 64 KB: the notification endpoint's limit, and far above any valid API body.
        self.MAX_CONTENT_LENGTH = 64 * 1024
        # hide_parameters: SQLAlchemy adds no bound value to a failed statement's error (and so
        # to a logged traceback): no buyer email, order id or secret hash from there in a log.
        self.SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True, "hide_parameters": True}
        if self.SQLALCHEMY_DATABASE_URI.startswith("postgresql"):
            # Room for every delivery thread and the maintenance threads beside them (the
            # web's gunicorn threads need fewer); past it, SQLAlchemy's overflow of 10.
            self.SQLALCHEMY_ENGINE_OPTIONS["pool_size"] = max(5, self.WEBHOOK_WORKER_THREADS + 3)
        # One JSON object per line (production), or plain lines (app/logs.py).
        self.LOG_FORMAT = (get("LOG_FORMAT") or ("json" if production else "text")).strip().lower()
        if self.LOG_FORMAT not in LOG_FORMATS:
            raise ConfigError(f"LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}")
        # `/metrics` asks for `Authorization: Bearer <METRICS_TOKEN>` when this is set.
        self.METRICS_TOKEN = get("METRICS_TOKEN") or ""
        # Portal sessions (kept server-side): idle timeout and absolute lifetime.
        self.SESSION_IDLE_MINUTES = parse_int(
            "SESSION_IDLE_MINUTES", get("SESSION_IDLE_MINUTES"), 120
        )
        self.SESSION_MAX_DAYS = parse_int("SESSION_MAX_DAYS", get("SESSION_MAX_DAYS"), 14)
        # How many proxies in front set X-Forwarded-For/-Proto/-Host (0: trust none of them).
        self.TRUSTED_PROXY_HOPS = parse_int(
            "TRUSTED_PROXY_HOPS", get("TRUSTED_PROXY_HOPS"), 0, minimum=0
        )
        # Outgoing mail (verification, password reset). Development: the local mail catcher
        # that `make run` starts; elsewhere nothing is sent until it is set.
        self.SMTP_URL = get("SMTP_URL") or (
            "smtp://127.0.0.1:1025" if self.LUNAS_ENV == "development" else ""
        )
        self.MAIL_FROM = get("MAIL_FROM") or "Lunas <no-reply@localhost>"
        # Who may sign up in the portal: anyone, only with an operator's invitation, nobody.
        self.REGISTRATION = (
            (get("REGISTRATION") or ("invite" if production else "open")).strip().lower()
        )
        if self.REGISTRATION not in REGISTRATION_POLICIES:
            raise ConfigError(f"REGISTRATION must be one of {', '.join(REGISTRATION_POLICIES)}")
        self.SESSION_COOKIE_HTTPONLY = True
        self.SESSION_COOKIE_SAMESITE = "Lax"
        self.SESSION_COOKIE_SECURE = production
        self.TESTING = self.LUNAS_ENV == "test"
        if production:
            self._refuse_unsafe_production()

    def _refuse_unsafe_production(self) -> None:
        """Settings that would let real money be taken by a forgery, or sessions and stored
        secrets be guessed, stop start-up in production, each naming itself."""
        if not self.MIDTRANS_CONFIRM_STATUS:
            # Without Get Status, a replayed notification with an edited status could settle
            # an unpaid payment: the signature does not cover every field.
            raise ConfigError("MIDTRANS_CONFIRM_STATUS cannot be off when LUNAS_ENV=production")
        problems = key_problems(self.SECRET_KEY, self.LUNAS_DATA_KEY)
        if problems:
            raise ConfigError(problems[0])
        problem = base_url_problem(self.PUBLIC_BASE_URL)
        if problem:
            raise ConfigError(problem)

    def as_dict(self) -> dict[str, object]:
        return {key: value for key, value in vars(self).items() if key.isupper()}
