"""How Lunas writes money, times and raw documents for people, on every page: one formatter
each, registered as the templates' filters.

Every filter is total: pages show stored data that anyone could have sent us (a raw request
is kept as it came), so no value may make a filter raise and a page answer 500. Whatever a
filter cannot format it shows as it is."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

from flask import Flask

from app.clock import format_wib
from app.json_input import JsonInputError, read_json
from app.models.base import utcnow
from app.models.webhook import WebhookDelivery, attempt_note

TOO_DEEP = "(not shown: nested too deep to print)"
# How Midtrans writes an IDR amount (gross_amount, refund_amount): whole rupiah, ".00" or none.
MIDTRANS_AMOUNT = re.compile(r"[0-9]{1,15}(\.0{1,2})?")


def format_rupiah(amount: Any) -> str:
    """75000 → "Rp75.000": Indonesian thousands separators, no decimals (IDR has none), no
    space after Rp (as Indonesian spelling writes it); "—" for no amount, anything that is
    not a whole number as it is."""
    if amount is None:
        return "—"
    if isinstance(amount, str) and MIDTRANS_AMOUNT.fullmatch(amount):
        amount = int(amount.split(".")[0])  # Midtrans's "25000.00", as every amount is shown
    if not isinstance(amount, int) or isinstance(amount, bool):
        return printable(str(amount))
    return f"Rp{amount:,}".replace(",", ".")


def format_time(moment: Any, seconds: bool = False) -> str:
    """A stored time in WIB (app/clock.py); a value that is not a time, as it is."""
    if not isinstance(moment, datetime):
        return "—" if moment is None else printable(str(moment))
    try:
        return format_wib(moment, seconds=seconds)
    except (OverflowError, ValueError):
        return moment.isoformat()  # at the very edge of the calendar, WIB is past year 9999


def pretty_json(raw: Any) -> str:
    """Indented JSON for reading; text that is not JSON (or that JSON we do not read back:
    too deep, numbers out of range, lone surrogates) is shown as it came."""
    if raw is None or (isinstance(raw, str | bytes | dict | list) and not raw):
        return ""
    if isinstance(raw, dict | list):
        return _dumped(raw)
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    try:
        document = read_json(text)
    except JsonInputError:
        return printable(text)  # as it came (escaped by the template)
    return _dumped(document)


def printable(text: str) -> str:
    """Text a page can be written in: a lone surrogate (no UTF-8 text holds one) is shown as
    its escape, \\udXXX, instead of failing the whole response."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _dumped(document: Any) -> str:
    try:
        return printable(json.dumps(document, indent=2, ensure_ascii=False))
    except (TypeError, ValueError):
        pass  # a value JSON has no word for (only ever JSON's own types are stored)
    except RecursionError:
        return TOO_DEEP
    try:
        return printable(repr(document)[:10_000])
    except RecursionError:
        return TOO_DEEP


def install(app: Flask) -> None:
    app.add_template_filter(format_rupiah, "rupiah")
    app.add_template_filter(format_time, "wib")
    app.add_template_filter(pretty_json, "pretty_json")
    app.add_template_global(attempt_error, "attempt_error")


def attempt_error(attempt: Any, delivery: WebhookDelivery) -> str | None:
    """An attempt's error as a page shows it ("sending" while in flight)."""
    return attempt_note(attempt.error, attempt.http_status, attempt.number, delivery, utcnow())
