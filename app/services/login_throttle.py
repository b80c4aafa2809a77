"""Slows password guessing: after MAX_FAILURES failed logins for one email within WINDOW_SECONDS,
that email is refused for WINDOW_SECONDS.

Counters live in Redis (shared by every gunicorn worker). When Redis is unreachable the throttle
fails open with a warning: logging in matters more than the throttle, and the password hash is
still slow."""

from __future__ import annotations

import hashlib
import logging

from redis import RedisError

from app.extensions import redis_connection

MAX_FAILURES = 5
WINDOW_SECONDS = 15 * 60

log = logging.getLogger(__name__)


def _key(email: str) -> str:
    # Hashed: Redis need not hold addresses, and any input makes a well-formed key.
    digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()
    return f"lunas:login-failures:{digest}"


def is_locked(email: str) -> bool:
    try:
        failures = redis_connection().get(_key(email))
    except RedisError:
        log.warning("login throttle unavailable (Redis); allowing the attempt", exc_info=True)
        return False
    return failures is not None and int(failures) >= MAX_FAILURES


def record_failure(email: str) -> None:
    key = _key(email)
    try:
        connection = redis_connection()
        failures, ttl = connection.pipeline().incr(key).ttl(key).execute()
        # The first failure opens the window (or a key that somehow lost its expiry); the one
        # that locks restarts it, so the lock lasts a full WINDOW_SECONDS from then.
        if ttl < 0 or failures == MAX_FAILURES:
            connection.expire(key, WINDOW_SECONDS)
    except RedisError:
        log.warning("login throttle unavailable (Redis); failure not counted", exc_info=True)


def clear_failures(email: str) -> None:
    try:
        redis_connection().delete(_key(email))
    except RedisError:
        log.warning("login throttle unavailable (Redis); failures not cleared", exc_info=True)
