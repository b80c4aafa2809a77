"""Seed the benchmark database and write the request files wrk replays.

    python -m bench.seed --project-id prj_… --out DIR [--payments 60000] [--fresh 15000] …

Run with the same environment as the server (DATABASE_URL, MIDTRANS_SANDBOX_SERVER_KEY, …).
Inserts `--payments` sandbox payments for the project in one bulk INSERT: the notification
groups below are `pending`; the rest (the filler) a realistic mix of pending, settlement and
expire. Then VACUUM ANALYZE, and writes into DIR:

- `status_answers.txt`: `purchase_id gross_amount` for the fake Get Status (settlement for all);
- `verify_paths.txt`: verify URLs over random payments, half by purchase_id, half by the
  merchant's order_id with the project's sandbox client_id;
- `notify_<group>.jsonl`: one signed settlement notification body per line, for each group of
  pending payments given with `--group NAME:COUNT` (each payment in exactly one group).
"""

from __future__ import annotations

import argparse
import json
import random
import uuid
from datetime import timedelta
from pathlib import Path

from sqlalchemy import insert, text

from app import create_app
from app.extensions import db
from app.midtrans.signature import compute_signature
from app.models import Environment, Payment, PaymentStatus
from app.models.base import utcnow
from app.security import random_token
from app.services.accounts.credentials import api_client_of


def notification_body(purchase_id: str, gross_amount: str, server_key: str) -> str:
    """A Midtrans settlement notification, signed as Midtrans signs it."""
    code = "200"
    return json.dumps(
        {
            "transaction_time": "2026-05-06 16:59:00",
            "transaction_status": "settlement",
            "transaction_id": str(uuid.uuid5(uuid.NAMESPACE_URL, "lunas-bench/" + purchase_id)),
            "status_message": "midtrans payment notification",
            "status_code": code,
            "signature_key": compute_signature(purchase_id, code, gross_amount, server_key),
            "settlement_time": "2026-05-06 17:00:00",
            "payment_type": "bank_transfer",
            "order_id": purchase_id,
            "merchant_id": "G141532850",
            "gross_amount": gross_amount,
            "fraud_status": "accept",
            "currency": "IDR",
        },
        separators=(",", ":"),
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--project-id", required=True)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--payments", type=int, default=60000)
    parser.add_argument("--group", action="append", default=[], help="NAME:COUNT")
    parser.add_argument("--verify-paths", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=20260506)
    args = parser.parse_args()

    rng = random.Random(args.seed)
    groups = [(name, int(count)) for name, count in (g.split(":") for g in args.group)]
    reserved = sum(count for _, count in groups)
    if reserved > args.payments:
        parser.error("the groups need more payments than --payments")

    app = create_app()
    server_key = app.config["MIDTRANS_SANDBOX_SERVER_KEY"]
    now = utcnow()
    rows = []
    for index in range(args.payments):
        created = now - timedelta(minutes=rng.randint(1, 60 * 24 * 30))
        if index < reserved:
            status = PaymentStatus.PENDING
            created = now - timedelta(minutes=rng.randint(1, 600))
        else:
            status = rng.choices(
                [PaymentStatus.PENDING, PaymentStatus.SETTLEMENT, PaymentStatus.EXPIRE],
                weights=[2, 6, 2],
            )[0]
        amount = rng.randrange(10_000, 500_000, 500)
        slug = f"warung-{index % 500}"
        metadata = {"store_name": f"Warung {index % 500}", "store_slug": slug} if index % 2 else {}
        settled = status == PaymentStatus.SETTLEMENT
        rows.append(
            {
                "purchase_id": "pur_" + random_token(24),
                "project_id": args.project_id,
                "environment": Environment.SANDBOX,
                "order_id": f"bench-{index:07d}",
                "amount": amount,
                "currency": "IDR",
                "buyer_email": f"buyer{index}@example.com",
                "buyer_name": None,
                "item_name": "Paket bench",
                "metadata_": metadata,
                "status": status,
                "snap_token": str(uuid.UUID(int=rng.getrandbits(128))),
                "snap_redirect_url": "https://app.sandbox.midtrans.com/snap/v4/redirection/x",
                "expires_at": created + timedelta(hours=24),
                "paid_at": created + timedelta(minutes=3) if settled else None,
                "paid_amount": f"{amount}.00" if settled else None,
                "created_at": created,
                "updated_at": created,
            }
        )

    with app.app_context():
        db.session.execute(insert(Payment), rows)
        db.session.commit()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
        db.engine.dispose()

    args.out.mkdir(parents=True, exist_ok=True)
    with open(args.out / "status_answers.txt", "w") as handle:
        for row in rows:
            handle.write(f"{row['purchase_id']} {row['amount']}.00\n")
    with app.app_context():
        client_id = api_client_of(args.project_id, Environment.SANDBOX).client_id
    with open(args.out / "verify_paths.txt", "w") as handle:
        for _ in range(args.verify_paths):
            row = rows[rng.randrange(len(rows))]
            if rng.random() < 0.5:
                query = f"order_id={row['purchase_id']}"
            else:  # a merchant order id is looked up within its project environment
                query = f"order_id={row['order_id']}&client_id={client_id}"
            handle.write(f"/api/platform/shop-payment/verify?{query}\n")
    start = 0
    for name, count in groups:
        with open(args.out / f"notify_{name}.jsonl", "w") as handle:
            for row in rows[start : start + count]:
                body = notification_body(row["purchase_id"], f"{row['amount']}.00", server_key)
                handle.write(body + "\n")
        start += count
    print(json.dumps({"payments": len(rows), "groups": dict(groups)}))


if __name__ == "__main__":
    main()
