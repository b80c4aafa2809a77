"""How many test events one project environment may send: MAX_PER_WINDOW a minute.

A test event is a request for work at an address the tenant chooses, made with one click: without
a limit, a few clicks at an endpoint that never answers would keep the shared workers waiting
(each attempt may take WEBHOOK_TIMEOUT_SECONDS). Counted per project and environment in fixed
windows of WINDOW_SECONDS, numbered from Python's clock, in Redis (shared by every web process).

When Redis is unreachable the limit fails open with a warning: a merchant testing an endpoint
matters more than the count, and the per-endpoint limit on attempts in flight still protects the
workers."""

from __future__ import annotations

import logging
import time

from redis import RedisError

from app.errors import RateLimitedError
from app.extensions import redis_connection
from app.models import Environment

MAX_PER_WINDOW = 5
WINDOW_SECONDS = 60
PREFIX = "lunas:test-events"

log = logging.getLogger(__name__)


class TooManyTestEventsError(RateLimitedError):
    """This project environment sent MAX_PER_WINDOW test events in the current window."""

    def __init__(self, message: str, retry_after: int, **params: object) -> None:
        # The message is given where it is raised, a literal the extractor sees.
        super().__init__(message, retry_after=retry_after, **params)
        self.retry_after = retry_after


def count_test_event(project_id: str, environment: Environment) -> None:
    """Count one test event, or raise TooManyTestEventsError (nothing counted past the limit
    matters: the window's key expires with it)."""
    now = time.time()
    window = int(now // WINDOW_SECONDS)
    key = f"{PREFIX}:{project_id}:{environment}:{window}"
    try:
        pipeline = redis_connection().pipeline()
        pipeline.incr(key).expire(key, 2 * WINDOW_SECONDS)
        sent, _ = pipeline.execute()
    except RedisError:
        log.warning("test event limit unavailable (Redis); allowing the test event", exc_info=True)
        return
    if sent > MAX_PER_WINDOW:
        raise TooManyTestEventsError(
            "at most %(limit)s test events a minute; try again in %(retry_after)s s",
            retry_after=max(1, int((window + 1) * WINDOW_SECONDS - now)),
            limit=MAX_PER_WINDOW,
        )
