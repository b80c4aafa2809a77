"""When to try a failed delivery again."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

MAX_RETRY_AFTER_SECONDS = 24 * 3600
JITTER = 0.2


def retry_delay(
    attempts_made: int,
    schedule: tuple[int, ...],
    retry_after: str | None = None,
    rng: random.Random | None = None,
) -> float | None:
    """Seconds until the next attempt after `attempts_made` attempts, or None to give up.

    The schedule lists the delays between attempts, each with ±20 % jitter; a Retry-After
    longer than the scheduled delay replaces it, capped at 24 h.
    """
    if attempts_made < 1 or attempts_made > len(schedule):
        return None
    base = schedule[attempts_made - 1]
    delay = base * (rng or random).uniform(1 - JITTER, 1 + JITTER)
    asked = parse_retry_after(retry_after)
    if asked is not None and asked > delay:
        delay = min(asked, MAX_RETRY_AFTER_SECONDS)
    return delay


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Retry-After as seconds (delta-seconds or an HTTP date); None when absent or malformed."""
    if not value:
        return None
    value = value.strip()
    # ASCII digits only (HTTP delay-seconds): str.isdigit() also accepts "²", which float() refuses.
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - (now or datetime.now(UTC))).total_seconds())
