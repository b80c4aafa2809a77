"""Fake payments in bulk for one project environment: the portal's scale target (a million
payments) and development data. PostgreSQL: a few INSERT … SELECT FROM generate_series
statements, then VACUUM ANALYZE. Other databases (SQLite): the same mix built in Python and
inserted in batches, much slower (about 10 s per 100 000 rows)."""

from __future__ import annotations

import random
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from hashlib import md5

from flask import current_app
from sqlalchemy import insert, text

from app.errors import NotFoundError, ValidationError
from app.extensions import db
from app.models import PAID_STATUSES, Environment, Payment, PaymentStatus, Project
from app.models.base import utcnow
from app.services.reporting import day_totals
from app.services.reporting.overview import prepare_overviews

MAX_COUNT = 10_000_000
MAX_DAYS = 3650
BATCH_SQL = 100_000
BATCH_PYTHON = 5_000
# One buyer comes back about 20 times in a million payments.
BUYERS = 50_000

# (status, share): mostly settled; pending only inside the checkout lifetime (older → expire).
STATUS_MIX = [
    (PaymentStatus.SETTLEMENT, 0.80),
    (PaymentStatus.EXPIRE, 0.10),
    (PaymentStatus.CANCEL, 0.04),
    (PaymentStatus.PENDING, 0.03),
    (PaymentStatus.REFUND, 0.02),
    (PaymentStatus.PARTIAL_REFUND, 0.01),
]
PAYMENT_TYPES = ["bank_transfer"] * 7 + ["qris"] * 5 + ["gopay"] * 3 + ["shopeepay"] * 2
PAYMENT_TYPES += ["echannel", "cstore", "credit_card"]
ITEMS = ["Nasi Goreng Spesial", "Kopi Susu Gula Aren", "Paket Hemat", "Kaos Batik", "Pulsa 50K"]


@dataclass(frozen=True)
class SeedReport:
    project_id: str
    environment: str
    inserted: int
    days: int
    seconds: float


def seed_payments(
    project_id: str,
    environment: Environment,
    count: int,
    days: int = 365,
    progress: Callable[[int], None] | None = None,
) -> SeedReport:
    """Insert `count` fake payments created over the last `days` days (evenly), in one
    transaction. Order ids are `seed-<run>-<n>`, metadata `{"seeded": true}`. Rows go in
    oldest first, as real payments arrive: the table's physical order follows created_at,
    which the overview's index-only scans depend on (docs/PERFORMANCE.md)."""
    if not 1 <= count <= MAX_COUNT:
        raise ValidationError(
            "count must be between 1 and %(maximum)s", field="count", maximum=MAX_COUNT
        )
    if not 1 <= days <= MAX_DAYS:
        raise ValidationError(
            "days must be between 1 and %(maximum)s", field="days", maximum=MAX_DAYS
        )
    if db.session.get(Project, project_id) is None:
        raise NotFoundError("no project %(project_id)s", project_id=repr(project_id))
    started = time.monotonic()
    run = secrets.token_hex(3)
    now = utcnow()
    expiry = timedelta(minutes=current_app.config["CHECKOUT_EXPIRY_MINUTES"])
    postgres = db.engine.dialect.name == "postgresql"
    batch = BATCH_SQL if postgres else BATCH_PYTHON
    # Seeded rows land on past days directly, not through apply_status: the stored totals
    # of those days would be stale. They are counted again once the rows are in (below).
    day_totals.clear(project_id, environment)
    for low in range(1, count + 1, batch):
        high = min(low + batch - 1, count)
        params = dict(project_id=project_id, environment=str(environment), run=run, now=now)
        if postgres:
            db.session.execute(
                _insert_select(),
                {
                    **params,
                    "low": low,
                    "high": high,
                    "count": count,
                    "days": days,
                    "expiry": expiry,
                },
            )
        else:
            rows = [_row(n, count, days, expiry, **params) for n in range(low, high + 1)]
            db.session.execute(insert(Payment), rows)
        if progress:
            progress(high)
    db.session.commit()
    if postgres:
        # Fresh statistics for the planner, and a visibility map that lets the overview's
        # index-only scans skip the table.
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE payments"))
    prepare_overviews(only=(project_id, environment))
    return SeedReport(project_id, str(environment), count, days, time.monotonic() - started)


def _status_case(draw: str, created: str) -> str:
    """CASE choosing a status from a uniform draw in [0, 1), as STATUS_MIX says."""
    branches, edge = [], 0.0
    for status, share in STATUS_MIX:
        edge += share
        value = f"'{status}'"
        if status == PaymentStatus.PENDING:
            value = f"CASE WHEN {created} > :now - :expiry THEN 'pending' ELSE 'expire' END"
        branches.append(f"WHEN {draw} < {edge:.4f} THEN {value}")
    return "CASE " + " ".join(branches) + " ELSE 'settlement' END"


def _insert_select():
    paid = ", ".join(f"'{status}'" for status in PAID_STATUSES)
    types = ", ".join(f"'{name}'" for name in PAYMENT_TYPES)
    items = ", ".join(f"'{name}'" for name in ITEMS)
    # Only module constants are interpolated; the caller's values are bound parameters.
    statement = f"""
        INSERT INTO payments (
            purchase_id, project_id, environment, order_id, amount, currency, buyer_email,
            buyer_name, item_name, metadata, status, snap_token, snap_redirect_url, expires_at,
            paid_at, paid_amount, refunded_amount, refunded, midtrans_transaction_id,
            midtrans_transaction_status, midtrans_fraud_status, midtrans_payment_type,
            created_at, updated_at)
        SELECT 'pur_' || substr(md5(:run || n), 1, 24), :project_id, :environment,
            'seed-' || :run || '-' || n, amount, 'IDR', 'buyer' || n % {BUYERS} || '@example.com',
            'Pembeli ' || n % {BUYERS}, (ARRAY[{items}])[1 + n % {len(ITEMS)}],
            '{{"seeded": true}}', status, token,
            'https://app.sandbox.midtrans.com/snap/v4/redirection/' || token,
            created_at + :expiry, paid_at, CASE WHEN paid_at IS NOT NULL THEN amount || '.00' END,
            CASE status WHEN '{PaymentStatus.REFUND}' THEN amount || '.00'
                WHEN '{PaymentStatus.PARTIAL_REFUND}' THEN amount / 2 || '.00' END,
            CASE status WHEN '{PaymentStatus.REFUND}' THEN amount
                WHEN '{PaymentStatus.PARTIAL_REFUND}' THEN amount / 2 ELSE 0 END,
            md5('tx' || :run || n)::uuid::text, status, 'accept',
            (ARRAY[{types}])[1 + floor(type_draw * {len(PAYMENT_TYPES)})::int],
            created_at, coalesce(paid_at, created_at)
        FROM (
            SELECT *, CASE WHEN status IN ({paid})
                THEN least(created_at + (1 + pay_draw * 120) * interval '1 minute', :now)
                END AS paid_at
            FROM (
                SELECT *, {_status_case("status_draw", "created_at")} AS status
                FROM (
                    SELECT n, random() AS status_draw, random() AS pay_draw,
                        random() AS type_draw, md5('snap' || :run || n)::uuid::text AS token,
                        :now - (:count - n + random()) * :days * interval '1 day' / :count
                            AS created_at,
                        ((5 + round(995 * power(random(), 4))) * 1000)::bigint AS amount
                    FROM generate_series(CAST(:low AS integer), CAST(:high AS integer)) AS n
                ) AS draws
            ) AS with_status
        ) AS rows
    """  # noqa: S608
    return text(statement)


def _row(
    n: int,
    count: int,
    days: int,
    expiry: timedelta,
    project_id: str,
    environment: str,
    run: str,
    now: datetime,
) -> dict:
    rng = random.Random(f"{run}:{n}")
    created = now - timedelta(days=(count - n + rng.random()) * days / count)
    status = rng.choices([s for s, _ in STATUS_MIX], [w for _, w in STATUS_MIX])[0]
    if status == PaymentStatus.PENDING and created <= now - expiry:
        status = PaymentStatus.EXPIRE
    paid_at = None
    if status in PAID_STATUSES:
        paid_at = min(created + timedelta(minutes=1 + rng.random() * 120), now)
    amount = (5 + round(995 * rng.random() ** 4)) * 1000
    token = str(uuid.UUID(_md5(f"snap{run}{n}")))
    return {
        "purchase_id": "pur_" + _md5(f"{run}{n}")[:24],
        "project_id": project_id,
        "environment": environment,
        "order_id": f"seed-{run}-{n}",
        "amount": amount,
        "currency": "IDR",
        "buyer_email": f"buyer{n % BUYERS}@example.com",
        "buyer_name": f"Pembeli {n % BUYERS}",
        "item_name": ITEMS[n % len(ITEMS)],
        "metadata_": {"seeded": True},
        "status": status,
        "snap_token": token,
        "snap_redirect_url": "https://app.sandbox.midtrans.com/snap/v4/redirection/" + token,
        "expires_at": created + expiry,
        "paid_at": paid_at,
        "paid_amount": f"{amount}.00" if paid_at else None,
        "refunded_amount": f"{_refunded(status, amount)}.00" if status in REFUNDED else None,
        "refunded": _refunded(status, amount),
        "midtrans_transaction_id": str(uuid.UUID(_md5(f"tx{run}{n}"))),
        "midtrans_transaction_status": status,
        "midtrans_fraud_status": "accept",
        "midtrans_payment_type": rng.choice(PAYMENT_TYPES),
        "created_at": created,
        "updated_at": paid_at or created,
    }


REFUNDED = (PaymentStatus.REFUND, PaymentStatus.PARTIAL_REFUND)


def _refunded(status: PaymentStatus, amount: int) -> int:
    if status == PaymentStatus.REFUND:
        return amount
    if status == PaymentStatus.PARTIAL_REFUND:
        return amount // 2
    return 0


def _md5(value: str) -> str:
    """As PostgreSQL's md5(): fake ids, nothing secret."""
    return md5(value.encode(), usedforsecurity=False).hexdigest()
