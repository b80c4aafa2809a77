"""Midtrans times are Jakarta wall-clock (GMT+7) strings without a zone."""

from __future__ import annotations

from datetime import UTC, datetime

from app.clock import WIB

_FORMAT = "%Y-%m-%d %H:%M:%S"


def parse_midtrans_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        local = datetime.strptime(value.strip(), _FORMAT)
    except ValueError:
        return None
    return local.replace(tzinfo=WIB).astimezone(UTC)


def format_midtrans_time(moment: datetime) -> str:
    return moment.astimezone(WIB).strftime(_FORMAT)


def format_expiry_start(moment: datetime) -> str:
    """Snap's expiry.start_time: "yyyy-MM-dd HH:mm:ss +0700"."""
    return moment.astimezone(WIB).strftime(_FORMAT + " %z")
