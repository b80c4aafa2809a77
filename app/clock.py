"""Lunas's days are Western Indonesian Time (WIB, UTC+7, no daylight saving): a day on a
chart, in a date filter or in the stored day totals (app/services/reporting/day_totals.py) is
the merchant's day, not UTC's. Stored times stay UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone

WIB = timezone(timedelta(hours=7), "WIB")


def format_wib(moment: datetime | None, seconds: bool = False) -> str:
    """'2026-11-22 17:05 WIB' (or '—' for no time)."""
    if moment is None:
        return "—"
    pattern = "%Y-%m-%d %H:%M:%S WIB" if seconds else "%Y-%m-%d %H:%M WIB"
    return moment.astimezone(WIB).strftime(pattern)


def today_wib(now: datetime | None = None) -> date:
    return (now or datetime.now(UTC)).astimezone(WIB).date()


def start_of_day_utc(day: date) -> datetime:
    """The UTC instant at which this WIB day begins."""
    return datetime.combine(day, time.min, tzinfo=WIB).astimezone(UTC)


# The days and times Lunas can reason about. Outside them datetime cannot represent what a
# filter needs (0001-01-01 begins in WIB before year 1 in UTC; 9999-12-31 has no next day), and
# no payment or page cursor (counted from the Unix epoch) lies there, so every parser of a date
# or time a person typed refuses them instead of failing later in the arithmetic.
EARLIEST_DAY, LATEST_DAY = date(1970, 1, 2), date(9998, 12, 30)
EARLIEST_MOMENT = datetime(1970, 1, 1, tzinfo=UTC)
LATEST_MOMENT = datetime.combine(LATEST_DAY + timedelta(days=1), time.min, tzinfo=WIB)


def parse_date(value: str | None) -> date | None:
    """A YYYY-MM-DD from a form, or None when empty, malformed or outside EARLIEST_DAY …
    LATEST_DAY (so that its WIB start and the next day can always be computed)."""
    try:
        day = date.fromisoformat(value) if value else None
    except ValueError:
        return None
    return day if day is not None and EARLIEST_DAY <= day <= LATEST_DAY else None


def parse_wib_datetime(value: str | None) -> datetime | None:
    """A datetime-local input's value (read as WIB), as UTC; None when empty, malformed or
    outside EARLIEST_MOMENT … LATEST_MOMENT."""
    try:
        parsed = datetime.fromisoformat(value) if value else None
        if parsed is None:
            return None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=WIB)
        parsed = parsed.astimezone(UTC)
    except (ValueError, OverflowError):  # OverflowError: the UTC instant is before year 1
        return None
    return parsed if is_representable(parsed) else None


def is_representable(moment: datetime) -> bool:
    """Whether an aware time lies where Lunas can show it in WIB and page or filter by it."""
    return EARLIEST_MOMENT <= moment <= LATEST_MOMENT
