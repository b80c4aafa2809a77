"""Extension singletons, bound to the app in create_app()."""

from __future__ import annotations

from flask import current_app
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
# Counters in Redis (RATELIMIT_STORAGE_URI), fixed windows, failing open: app/rate_limits.py.
# The client's address is the one ProxyFix trusted (TRUSTED_PROXY_HOPS).
limiter = Limiter(key_func=get_remote_address, strategy="fixed-window")


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
