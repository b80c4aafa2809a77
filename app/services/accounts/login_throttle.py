"""Slows password guessing without letting a stranger lock a merchant out.

Failed logins are counted three ways within WINDOW_SECONDS:

- per email and client address: MAX_FAILURES (5) lock that pair. Someone guessing from one
  place is stopped after five tries, while the account's owner, elsewhere, still gets in;
- per email, from anywhere: MAX_FAILURES_PER_EMAIL (50) lock the email for everyone, so
  guessing spread over many addresses is stopped too (only such an attack can lock an owner
  out, and only for WINDOW_SECONDS);
- per client address, over any emails: past MAX_FAILURES_PER_ADDRESS (50), every attempt from
  that address is slowed by ADDRESS_SLOWDOWN_SECONDS, and never refused. One address is often
  a whole office behind a proxy or a mobile carrier's NAT: a stranger there trying a list of
  accounts must not lock out a colleague who types the right password.

A lock lasts WINDOW_SECONDS from the failure that set it. The client address is the one the
WSGI server reports, or behind TRUSTED_PROXY_HOPS proxies the one they forwarded (ProxyFix).

Counters live in Redis (shared by every gunicorn worker). When Redis is unreachable the throttle
fails open with a warning: logging in matters more than the throttle, and the password hash is
still slow."""

from __future__ import annotations

import hashlib
import logging
from enum import StrEnum

from redis import RedisError

from app.extensions import redis_connection

MAX_FAILURES = 5
MAX_FAILURES_PER_EMAIL = 50
MAX_FAILURES_PER_ADDRESS = 50
ADDRESS_SLOWDOWN_SECONDS = 1.0
WINDOW_SECONDS = 15 * 60
PREFIX = "lunas:login-failures"

log = logging.getLogger(__name__)


class Lock(StrEnum):
    """Why a login is refused before its password is even checked."""

    PAIR = "pair"  # this email, from this address
    EMAIL = "email"  # this email, from anywhere


def _keys(email: str, address: str | None) -> dict[str, str]:
    """The Redis key of each count. Hashed: Redis need not hold addresses, and any input makes
    a well-formed key."""
    email = email.strip().lower()
    address = address or "unknown"
    return {
        "pair": f"{PREFIX}:pair:{_digest(email, address)}",
        "email": f"{PREFIX}:email:{_digest(email)}",
        "address": f"{PREFIX}:address:{_digest(address)}",
    }


_LIMITS = {
    "pair": MAX_FAILURES,
    "email": MAX_FAILURES_PER_EMAIL,
    "address": MAX_FAILURES_PER_ADDRESS,
}


def _digest(*parts: str) -> str:
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def check(email: str, address: str | None) -> tuple[Lock | None, float]:
    """(the lock that refuses this attempt, or None; seconds to slow it down by)."""
    keys = _keys(email, address)
    try:
        counts = dict(zip(keys, redis_connection().mget(list(keys.values())), strict=True))
    except RedisError:
        log.warning("login throttle unavailable (Redis); allowing the attempt", exc_info=True)
        return None, 0.0

    def reached(name: str) -> bool:
        return counts[name] is not None and int(counts[name]) >= _LIMITS[name]

    lock = Lock.PAIR if reached("pair") else Lock.EMAIL if reached("email") else None
    return lock, ADDRESS_SLOWDOWN_SECONDS if reached("address") else 0.0


def record_failure(email: str, address: str | None) -> None:
    keys = _keys(email, address)
    try:
        connection = redis_connection()
        pipeline = connection.pipeline()
        for key in keys.values():
            pipeline.incr(key).ttl(key)
        answers = pipeline.execute()
        for index, (name, key) in enumerate(keys.items()):
            failures, ttl = answers[2 * index], answers[2 * index + 1]
            # The first failure opens the window (or a key that somehow lost its expiry); the
            # one that reaches the limit restarts it, so it lasts a full WINDOW_SECONDS.
            if ttl < 0 or failures == _LIMITS[name]:
                connection.expire(key, WINDOW_SECONDS)
    except RedisError:
        log.warning("login throttle unavailable (Redis); failure not counted", exc_info=True)


def clear_failures(email: str, address: str | None) -> None:
    """After a successful login: that pair starts afresh (the wider counts keep running, so
    an attacker who also owns an account cannot reset them)."""
    try:
        redis_connection().delete(_keys(email, address)["pair"])
    except RedisError:
        log.warning("login throttle unavailable (Redis); failures not cleared", exc_info=True)
