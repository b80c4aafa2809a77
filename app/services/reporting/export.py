"""The portal's CSV export of a payments list (SPEC §11.7): exactly the list's filters, newest
first, streamed a batch at a time so that a million rows never sit in memory.

UTF-8 with a byte order mark (spreadsheet programs then read it as UTF-8), amounts as whole
Rupiah integers, times in WIB with the zone written out, and a cell a spreadsheet would run as
a formula (=, +, -, @ first) quoted with a leading apostrophe: buyer names come from buyers."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime

from app.clock import WIB
from app.extensions import db
from app.models import Environment, Payment
from app.services.reporting.payments import KEYSET, PaymentFilters, filtered

BATCH = 2000
BOM = "\ufeff"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_payments = Payment.__table__.c

COLUMNS = (
    ("purchase_id", _payments.purchase_id),
    ("order_id", _payments.order_id),
    ("created_at", _payments.created_at),
    ("status", _payments.status),
    ("amount", _payments.amount),
    ("refunded_amount", _payments.refunded),
    ("currency", _payments.currency),
    ("buyer_email", _payments.buyer_email),
    ("buyer_name", _payments.buyer_name),
    ("buyer_phone", _payments.buyer_phone),
    ("item_name", _payments.item_name),
    ("payment_type", _payments.midtrans_payment_type),
    ("payment_channel", _payments.payment_channel),
    ("paid_at", _payments.paid_at),
    ("cancelled_at", _payments.cancelled_at),
    ("fulfilment_status", _payments.fulfilment_status),
)
HEADER = [name for name, _ in COLUMNS]


def export_csv(project_id: str, environment: Environment, filters: PaymentFilters) -> Iterator[str]:
    """The CSV text, one chunk per batch of rows (the first chunk is the BOM and header)."""
    query = filtered(
        project_id,
        environment,
        filters,
        columns=(*(column.label(name) for name, column in COLUMNS), _payments.id),
    )
    yield BOM + _lines([HEADER])
    width = len(HEADER)
    after = None
    while True:
        page = KEYSET.page(query, BATCH, after=after)
        # No transaction stays open between batches (nor while the client reads them).
        db.session.rollback()
        if page.rows:
            yield _lines([_cell(row[index]) for index in range(width)] for row in page.rows)
        if page.older is None:
            return
        after = page.older


def _lines(rows) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue()


def _cell(value) -> object:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(WIB).isoformat(timespec="seconds")
    if isinstance(value, int):
        return value
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text
