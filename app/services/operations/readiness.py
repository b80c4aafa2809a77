"""Whether this process can do its work (SPEC §15's /readyz): PostgreSQL must answer, Redis
should. Without PostgreSQL nothing can be taken or shown, so the process is unavailable and a
load balancer should route around it. Without Redis, Lunas still takes checkouts,
notifications and money (SPEC §6: webhooks wait in the database and the sweeper enqueues them
later), so the process is degraded and must keep receiving traffic."""

from __future__ import annotations

from dataclasses import dataclass, field

from redis.exceptions import RedisError
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from app.extensions import db, redis_connection

POSTGRESQL = "postgresql"
REDIS = "redis"


@dataclass(frozen=True)
class Readiness:
    failed: tuple[str, ...] = field(default=())  # the process cannot serve without these
    degraded: tuple[str, ...] = field(default=())  # it serves, with less, without these

    @property
    def status(self) -> str:
        if self.failed:
            return "unavailable"
        return "degraded" if self.degraded else "ok"


def database_answers() -> bool:
    """One trivial statement; the pool's pre-ping reconnects first if it must. Named
    PostgreSQL in the answer whatever the URL says: SQLite (development) cannot go away."""
    try:
        db.session.execute(text("SELECT 1"))
        return True
    except SQLAlchemyError:
        return False
    finally:
        db.session.rollback()


def redis_answers() -> bool:
    try:
        return bool(redis_connection().ping())
    except RedisError:
        return False


def readiness() -> Readiness:
    return Readiness(
        failed=() if database_answers() else (POSTGRESQL,),
        degraded=() if redis_answers() else (REDIS,),
    )
