"""Webhook deliveries per second for one worker, RQ's forking Worker against SimpleWorker.

    .venv/bin/python bench/webhook_throughput.py [--events 600] [--write]

Seeds N due item.purchased-sized events for one project whose webhook URL is a local receiver
that answers 200 at once (bench/fast_receiver.py, its own process), enqueues them to Redis, then
runs one `flask worker --burst --worker-class …` process and measures the span between the first
attempt's start and the last attempt's end from the attempt log. PostgreSQL database
`lunas_bench_webhooks` (re-created) and Redis db 13 (flushed). With --write, the result table
replaces the webhook section of docs/PERFORMANCE.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from machine import hardware

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"
PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
DATABASE = "lunas_bench_webhooks"
REDIS_URL = "redis://127.0.0.1:6379/13"
MARK_START, MARK_END = "<!-- webhook-bench:start -->", "<!-- webhook-bench:end -->"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def environment(receiver_port: int) -> dict[str, str]:
    return {
        **os.environ,
        "FLASK_APP": "wsgi",
        "LUNAS_ENV": "production",
        "SECRET_KEY": "bench-secret-key",
        "LUNAS_DATA_KEY": "bench-data-key",
        "DATABASE_URL": f"{PG_SERVER.replace('postgresql://', 'postgresql+psycopg://')}/{DATABASE}",
        "REDIS_URL": REDIS_URL,
        "PUBLIC_BASE_URL": "https://lunas.bench",
        "MIDTRANS_SANDBOX_SERVER_KEY": "SB-Mid-server-bench",
        # The receiver is on loopback: let the guard through and allow http.
        "WEBHOOK_ALLOW_PRIVATE_TARGETS": "1",
        "WEBHOOK_REQUIRE_HTTPS": "0",
        "BENCH_RECEIVER_URL": f"http://127.0.0.1:{receiver_port}/hooks/lunas",
        # The sweeper must not add work during the measurement.
        "WEBHOOK_SWEEP_INTERVAL_SECONDS": "3600",
    }


SEED = """
import os, sys
from app import create_app
from app.extensions import db
from app.models import EventType
from app.services.accounts.projects import create_project
from app.services.accounts.users import create_user
from app.services.outbox.events import new_delivery
from app.services.outbox.queue import enqueue
app = create_app()
with app.app_context():
    user = create_user("bench@example.com", "bench-password")
    project = create_project(user, "Bench", webhook_url=os.environ["BENCH_RECEIVER_URL"]).project
    payload = {"event": "item.purchased", "order_id": "INV-0001", "item_id": "__direct__",
               "item_name": "Nasi Goreng Spesial", "buyer_email": "buyer@example.com",
               "buyer_name": "John Doe", "amount": 75000, "currency": "IDR",
               "paid_at": "2026-05-06T10:00:00Z",
               "metadata": {"store_name": "Warung Bu Sari", "store_slug": "warung-bu-sari"},
               "purchase_id": "pur_x", "environment": "sandbox", "payment_type": "bank_transfer"}
    ids = [new_delivery(project.id, "sandbox", EventType.ITEM_PURCHASED, payload).id
           for _ in range(int(sys.argv[1]))]
    db.session.commit()
    enqueue(ids)
"""


def reset_database() -> None:
    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DATABASE}"')


def run_once(worker_class: str, events: int, env: dict[str, str]) -> dict[str, float]:
    reset_database()
    subprocess.run(
        ["redis-cli", "-n", "13", "flushdb"], check=True, capture_output=True, timeout=30
    )
    subprocess.run(
        [VENV_BIN / "flask", "db", "upgrade"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    subprocess.run(
        [VENV_BIN / "python", "-c", SEED, str(events)],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
    )
    started = time.monotonic()
    subprocess.run(
        [VENV_BIN / "flask", "worker", "--burst", "--worker-class", worker_class],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=900,
    )
    wall = time.monotonic() - started
    with psycopg.connect(f"{PG_SERVER}/{DATABASE}") as conn:
        delivered, first, last, p50 = conn.execute(
            """
            SELECT count(*) FILTER (WHERE d.status = 'delivered'),
                   min(a.started_at),
                   max(a.started_at + a.duration_ms * interval '1 millisecond'),
                   percentile_cont(0.5) WITHIN GROUP (ORDER BY a.duration_ms)
            FROM webhook_deliveries d JOIN webhook_attempts a ON a.delivery_id = d.id
            """
        ).fetchone()
    span = (last - first).total_seconds()
    if delivered != events:
        raise SystemExit(f"{worker_class}: only {delivered} of {events} delivered")
    return {"per_second": events / span, "span": span, "wall": wall, "http_p50_ms": p50}


def machine() -> str:
    postgres = psycopg.connect(f"{PG_SERVER}/postgres").execute("SHOW server_version").fetchone()[0]
    import rq

    return (
        f"{hardware()}; "
        f"Python {platform.python_version()}, PostgreSQL {postgres}, RQ {rq.__version__}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=600)
    parser.add_argument("--write", action="store_true", help="update docs/PERFORMANCE.md")
    args = parser.parse_args()

    port = free_port()
    receiver = subprocess.Popen(
        [VENV_BIN / "python", ROOT / "bench" / "fast_receiver.py", str(port)]
    )
    try:
        time.sleep(0.5)
        env = environment(port)
        results = {name: run_once(name, args.events, env) for name in ("simple", "fork")}
    finally:
        receiver.terminate()
        receiver.wait(timeout=10)

    rows = [
        f"| `{name}` ({'SimpleWorker' if name == 'simple' else 'Worker, fork per job'}) | "
        f"{r['per_second']:.0f} | {r['http_p50_ms']:.0f} | {r['span']:.1f} | {r['wall']:.1f} |"
        for name, r in results.items()
    ]
    fastest = max(results, key=lambda name: results[name]["per_second"])
    report = "\n".join(
        [
            MARK_START,
            f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {machine()}.",
            "",
            f"`.venv/bin/python bench/webhook_throughput.py --events {args.events} --write`: one "
            "worker process, one project, events enqueued before the worker starts, a receiver "
            "answering 200 at once on loopback. Deliveries per second = events / (last attempt "
            "end − first attempt start), from the attempt log.",
            "",
            "| worker | deliveries/s | HTTP p50 (ms) | span (s) | wall incl. start-up (s) |",
            "| --- | --- | --- | --- | --- |",
            *rows,
            "",
            f"Faster: `{fastest}`; `flask worker` defaults to it.",
            MARK_END,
        ]
    )
    print(report)
    if args.write:
        path = ROOT / "docs" / "PERFORMANCE.md"
        text = path.read_text() if path.exists() else "# Performance\n"
        if MARK_START in text:
            text = re.sub(
                re.escape(MARK_START) + ".*?" + re.escape(MARK_END), report, text, flags=re.S
            )
        else:
            text = text.rstrip() + "\n\n## Webhook delivery throughput\n\n" + report + "\n"
        path.write_text(text)


if __name__ == "__main__":
    sys.exit(main())
