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


def parse_date(value: str | None) -> date | None:
    """A YYYY-MM-DD from a form, or None when empty or malformed."""
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def parse_wib_datetime(value: str | None) -> datetime | None:
    """A datetime-local input's value (read as WIB), as UTC; None when empty or malformed."""
    try:
        parsed = datetime.fromisoformat(value) if value else None
    except ValueError:
        return None
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=WIB)
    return parsed.astimezone(UTC)
