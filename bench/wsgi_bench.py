"""The product app plus two bench-only routes (never part of the product code).

Served by the repository's gunicorn.conf.py exactly as the Procfile's web process serves
`wsgi:app`:

- `/_bench/bare` returns `{}`: what gunicorn + Flask cost before any Lunas work;
- `POST /_bench/reference` takes a Midtrans notification body and does only what a
  notification cannot avoid: one Get Status round trip to the same Midtrans base over a
  kept-alive connection (urllib3, one pool per process), one indexed read of the payment, and
  one small insert (into `bench_reference`, a table bench/run_bench.py creates), each in
  autocommit. The notification route is measured against it.

BENCH_LOG_LEVEL (bench-only, default: leave the app's INFO) lets the driver measure what the
per-request INFO lines of the notification path cost.
"""

from __future__ import annotations

import base64
import json
import logging
import os

import urllib3
from flask import request
from sqlalchemy import text

from app import create_app
from app.extensions import csrf, db

app = create_app()
_midtrans = urllib3.PoolManager(maxsize=32, block=False)
_read = text("SELECT id, status FROM payments WHERE purchase_id = :order_id")
_insert = text("INSERT INTO bench_reference (order_id, status) VALUES (:order_id, :status)")


@app.get("/_bench/bare")
def bench_bare():
    return {}


@app.post("/_bench/reference")
@csrf.exempt
def bench_reference():
    order_id = json.loads(request.get_data())["order_id"]
    key = app.config["MIDTRANS_SANDBOX_SERVER_KEY"]
    answer = _midtrans.request(
        "GET",
        f"{app.config['MIDTRANS_SANDBOX_API_BASE']}/v2/{order_id}/status",
        headers={
            "Accept": "application/json",
            "Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode(),
        },
        timeout=5.0,
    )
    status = json.loads(answer.data)["transaction_status"]
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(_read, {"order_id": order_id}).first()
        connection.execute(_insert, {"order_id": order_id, "status": status})
    return {"message": "ok"}


_level = os.environ.get("BENCH_LOG_LEVEL")
if _level:
    logging.getLogger().setLevel(_level.upper())
