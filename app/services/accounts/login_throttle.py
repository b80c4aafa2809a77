"""Slows password guessing without letting a stranger lock a merchant out.

Failed logins are counted three ways within WINDOW_SECONDS:

- per email and client address: MAX_FAILURES (5) lock that pair. Someone guessing from one
  place is stopped after five tries, while the account's owner, elsewhere, still gets in;
- per email, from anywhere: MAX_FAILURES_PER_EMAIL (50) lock the email for everyone, so
  guessing spread over many addresses is stopped too (only such an attack can lock an owner
  out, and only for WINDOW_SECONDS);
- per client address, over any emails: MAX_FAILURES_PER_ADDRESS (50) lock that address
  (one source trying a list of accounts).

A lock lasts WINDOW_SECONDS from the failure that set it. The client address is the one the
WSGI server reports (behind a proxy, every client shares the proxy's, and the first count
then acts per email alone).

Counters live in Redis (shared by every gunicorn worker). When Redis is unreachable the throttle
fails open with a warning: logging in matters more than the throttle, and the password hash is
still slow."""

from __future__ import annotations

import hashlib
import logging

from redis import RedisError

from app.extensions import redis_connection

MAX_FAILURES = 5
MAX_FAILURES_PER_EMAIL = 50
MAX_FAILURES_PER_ADDRESS = 50
WINDOW_SECONDS = 15 * 60
PREFIX = "lunas:login-failures"

log = logging.getLogger(__name__)


def _limits(email: str, address: str | None) -> list[tuple[str, int]]:
    """(Redis key, failures that lock) of each count. Hashed: Redis need not hold addresses,
    and any input makes a well-formed key."""
    email = email.strip().lower()
    address = address or "unknown"
    return [
        (f"{PREFIX}:pair:{_digest(email, address)}", MAX_FAILURES),
        (f"{PREFIX}:email:{_digest(email)}", MAX_FAILURES_PER_EMAIL),
        (f"{PREFIX}:address:{_digest(address)}", MAX_FAILURES_PER_ADDRESS),
    ]


def _digest(*parts: str) -> str:
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def is_locked(email: str, address: str | None) -> bool:
    limits = _limits(email, address)
    try:
        counts = redis_connection().mget([key for key, _ in limits])
    except RedisError:
        log.warning("login throttle unavailable (Redis); allowing the attempt", exc_info=True)
        return False
    return any(
        count is not None and int(count) >= limit
        for count, (_, limit) in zip(counts, limits, strict=True)
    )


def record_failure(email: str, address: str | None) -> None:
    limits = _limits(email, address)
    try:
        connection = redis_connection()
        pipeline = connection.pipeline()
        for key, _ in limits:
            pipeline.incr(key).ttl(key)
        answers = pipeline.execute()
        for index, (key, limit) in enumerate(limits):
            failures, ttl = answers[2 * index], answers[2 * index + 1]
            # The first failure opens the window (or a key that somehow lost its expiry); the
            # one that locks restarts it, so the lock lasts a full WINDOW_SECONDS from then.
            if ttl < 0 or failures == limit:
                connection.expire(key, WINDOW_SECONDS)
    except RedisError:
        log.warning("login throttle unavailable (Redis); failure not counted", exc_info=True)


def clear_failures(email: str, address: str | None) -> None:
    """After a successful login: that pair starts afresh (the wider counts keep running, so
    an attacker who also owns an account cannot reset them)."""
    pair_key, _ = _limits(email, address)[0]
    try:
        redis_connection().delete(pair_key)
    except RedisError:
        log.warning("login throttle unavailable (Redis); failures not cleared", exc_info=True)
