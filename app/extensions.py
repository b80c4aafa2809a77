"""Extension singletons, bound to the app in create_app()."""

from __future__ import annotations

import time

from flask import Flask, Response, current_app
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from redis import Redis
from rq import Queue

from app.models.base import Base

db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
# Counters in Redis (RATELIMIT_STORAGE_URI), fixed windows, failing open; limits are declared
# on the routes they guard, from RATE_LIMIT_* settings ("off" exempts). The client's address is
# the one ProxyFix trusted (TRUSTED_PROXY_HOPS).
limiter = Limiter(key_func=get_remote_address, strategy="fixed-window")


def rate_limit(setting: str, **options):
    """A route's limit from the setting `setting` ("10/minute", or "off": no limit)."""
    return limiter.limit(
        lambda: current_app.config[setting] if current_app.config[setting] != "off" else "1/second",
        exempt_when=lambda: current_app.config[setting] == "off",
        **options,
    )


def install_limiter(app: Flask) -> None:
    limiter.init_app(app)

    @app.after_request
    def rate_limit_headers(response: Response) -> Response:
        # SPEC §12: every answer of a limited route says where its caller stands, the reset
        # in seconds from now.
        current = limiter.current_limit
        if current is not None:
            response.headers["RateLimit-Limit"] = str(current.limit.amount)
            response.headers["RateLimit-Remaining"] = str(max(current.remaining, 0))
            response.headers["RateLimit-Reset"] = str(max(int(current.reset_at - time.time()), 0))
        return response


def redis_connection() -> Redis:
    """One client per app (it pools its own connections), for short enqueues.

    Short timeouts: the web enqueues after commit while Midtrans waits for its answer (it
    gives up after 5 s), and a hung Redis must not eat that; the sweeper re-enqueues what
    fails. The RQ worker's long blocking dequeue uses a client of its own (app/worker.py)."""
    connection = current_app.extensions.get("lunas_redis")
    if connection is None:
        connection = Redis.from_url(
            current_app.config["REDIS_URL"], socket_connect_timeout=1, socket_timeout=1
        )
        current_app.extensions["lunas_redis"] = connection
    return connection


def queue(name: str = "default") -> Queue:
    return Queue(name, connection=redis_connection())
