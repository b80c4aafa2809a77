"""Rate limits (SPEC §12): Flask-Limiter, counters in Redis, fixed windows, failing open.

Two kinds. A route's own limit, keyed on who is asking before anything is read (login per
address and email; register and an item's link per address), is a Flask-Limiter decorator
from a RATE_LIMIT_* setting: `rate_limit`. Verify, polled by every waiting buyer, takes its
two (per address and order id, and per address) from `rate_limits`, counted in memory between
batched Redis round trips (app/rate_counters.py).
The platform API's limit is per credential, so it is taken after the credential is proven
(`count_credential`, called by app/api/calls.py): a client_id is no secret (buyer pages carry
it to verify), and a limit counted before the secret is checked would let anyone who knows
it spend a merchant's budget with wrong secrets. The Midtrans notification endpoint has no
limit of either kind.

Every answer of a limited route carries RateLimit-Limit, -Remaining and -Reset (seconds); a
429 also Retry-After. Redis away: the request passes, and a warning is logged."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache, wraps

from flask import Flask, Response, current_app, g, has_request_context, request
from flask_limiter.util import get_remote_address
from limits import RateLimitItem, parse

from app.errors import RateLimitedError
from app.extensions import limiter, redis_connection
from app.models import ApiClient, Environment
from app.rate_counters import SharedCounters

log = logging.getLogger(__name__)

COUNTERS = "lunas_rate_counters"

API_SETTINGS = {
    Environment.PRODUCTION: "RATE_LIMIT_API_PRODUCTION",
    Environment.SANDBOX: "RATE_LIMIT_API_SANDBOX",
}


@dataclass(frozen=True)
class Standing:
    """Where the caller stands in a window: what the headers say."""

    limit: int
    remaining: int
    reset_at: float  # Unix seconds
    window: int  # seconds

    def reset_in(self) -> int:
        """Whole seconds until the window resets, rounded up (a client that waits this long
        is never early) and never past the window's length."""
        return min(max(math.ceil(self.reset_at - time.time()), 0), self.window)


def rate_limit(setting: str, key_func: Callable[[], str] | None = None, **options):
    """A route's limit from the setting `setting` ("10/minute", or "off": no limit), counted
    per `key_func` (the client's address when not given)."""
    return limiter.limit(
        lambda: current_app.config[setting] if current_app.config[setting] != "off" else "1/second",
        key_func=key_func,
        exempt_when=lambda: current_app.config[setting] == "off",
        **options,
    )


def rate_limits(*limits: tuple[str, Callable[[], str] | None]):
    """Several of a route's limits, (setting, key_func) each, for a route polled by every
    waiting buyer: counted in memory and added to Redis in batches (app/rate_counters.py),
    one round trip only for a key's first hit in a window. Same rules as `rate_limit`:
    fixed windows from the first hit, every limit counts every request, the first one over
    refuses it, Redis away lets it through with a warning."""

    def decorate(view):
        @wraps(view)
        def limited(*args, **kwargs):
            if request.method != "OPTIONS":
                _count_all(limits)
            return view(*args, **kwargs)

        return limited

    return decorate


def _count_all(limits: tuple[tuple[str, Callable[[], str] | None], ...]) -> None:
    config = current_app.config
    active = [
        (setting, _parsed(config[setting]), key_func or get_remote_address)
        for setting, key_func in limits
        if config[setting] != "off"
    ]
    if not active:
        return
    keys = [
        (f"lunas:limit:{setting}:{item}:{key_func()}", item.get_expiry())
        for setting, item, key_func in active
    ]
    counts = _counters().hit(keys)
    if counts is None:
        log.warning(
            "rate limit storage unreachable: request %s %s not limited",
            request.method,
            request.path,
        )
        return
    standings = [
        (
            counted.count > item.amount,
            Standing(item.amount, item.amount - counted.count, counted.ends_at, item.get_expiry()),
            setting,
        )
        for counted, (setting, item, _) in zip(counts, active, strict=True)
    ]
    over = [entry for entry in standings if entry[0]]
    _, standing, setting = over[0] if over else min(standings, key=lambda e: e[1].remaining)
    g.rate_standing = standing
    if over:
        raise RateLimitedError(
            "at most %(limit)s; try again in %(seconds)s s",
            limit=config[setting],
            seconds=standing.reset_in(),
        )


@lru_cache(maxsize=64)
def _parsed(setting: str) -> RateLimitItem:
    """A setting's limit, parsed once: verify is polled by every waiting buyer."""
    return parse(setting)


def _counters() -> SharedCounters:
    counters = current_app.extensions.get(COUNTERS)
    if counters is None:
        counters = current_app.extensions[COUNTERS] = SharedCounters(redis_connection())
    return counters


def address_and(value: Callable[[], str]) -> Callable[[], str]:
    """A key: the client's address and one value of the request (an order id, an email)."""
    return lambda: f"{get_remote_address()}|{value()[:254]}"


def count_credential(client: ApiClient) -> None:
    """Count one call of a proven credential against its environment's limit, or raise
    RateLimitedError (the call is refused before it does anything)."""
    setting = current_app.config[API_SETTINGS[client.environment]]
    if setting == "off":
        return
    item: RateLimitItem = parse(setting)
    strategy = limiter.limiter
    try:
        allowed = strategy.hit(item, "api", client.client_id)
        reset_at, remaining = strategy.get_window_stats(item, "api", client.client_id)
    except Exception as exc:  # noqa: BLE001 — any storage failure: the money path goes on
        log.warning("rate limit storage unreachable (%s): request not limited", type(exc).__name__)
        return
    g.rate_standing = Standing(item.amount, remaining, reset_at, item.get_expiry())
    if not allowed:
        raise RateLimitedError(
            f"at most {setting} for this credential; try again in {g.rate_standing.reset_in()} s"
        )


def install(app: Flask) -> None:
    limiter.init_app(app)
    # Flask-Limiter logs a swallowed storage error with its traceback on every request; one
    # warning line says the same.
    logging.getLogger("flask-limiter").addFilter(_storage_errors_as_warnings)

    @app.after_request
    def rate_limit_headers(response: Response) -> Response:
        standing = _standing()
        if standing is not None:
            reset = standing.reset_in()
            response.headers["RateLimit-Limit"] = str(standing.limit)
            response.headers["RateLimit-Remaining"] = str(max(standing.remaining, 0))
            response.headers["RateLimit-Reset"] = str(reset)
            if response.status_code == 429:
                response.headers["Retry-After"] = str(max(reset, 1))
        return response


def _standing() -> Standing | None:
    standing = g.get("rate_standing")
    if standing is not None:
        return standing
    current = limiter.current_limit
    if current is None:
        return None
    return Standing(
        current.limit.amount, current.remaining, current.reset_at, current.limit.get_expiry()
    )


def _storage_errors_as_warnings(record: logging.LogRecord) -> bool:
    if (
        record.exc_info
        and has_request_context()
        and record.getMessage().startswith("Failed to rate limit")
    ):
        record.levelno, record.levelname = logging.WARNING, "WARNING"
        record.msg = "rate limit storage unreachable (%s): request %s %s not limited"
        record.args = (type(record.exc_info[1]).__name__, request.method, request.path)
        record.exc_info = record.exc_text = None
    return True
