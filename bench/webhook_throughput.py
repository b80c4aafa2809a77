"""Webhook deliveries per second: one worker process with its delivery threads, with one
thread, RQ's forking Worker, and a burst of 10,000 for two worker processes.

    .venv/bin/python bench/webhook_throughput.py [--events 3000] [--endpoints 24]
        [--setups threads one-thread fork burst] [--profile DIR] [--write]

Seeds N due item.purchased-sized events spread over --endpoints projects whose webhook URLs
are a local receiver that answers 200 at once (bench/fast_receiver.py, its own process),
enqueues them to Redis, then starts the setup's `flask worker --burst …` processes and measures
the span between the first attempt's start and the last attempt's end from the attempt log.
PostgreSQL database
`lunas_bench_webhooks` (re-created) and Redis db 13 (flushed). With --write, the result table
replaces the webhook section of docs/PERFORMANCE.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import resource
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
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
        "SECRET_KEY": "bench-webhooks-secret-key-not-for-production",
        "LUNAS_DATA_KEY": "bench-webhooks-data-key-not-for-production",
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
    # SPEC: spread over at least 20 endpoints (each one's attempts in flight are capped).
    projects = [
        create_project(user, f"Bench {n}", webhook_url=os.environ["BENCH_RECEIVER_URL"] + f"/{n}")
        .project for n in range(int(sys.argv[2]))
    ]
    payload = {"event": "item.purchased", "order_id": "INV-0001", "item_id": "__direct__",
               "item_name": "Nasi Goreng Spesial", "buyer_email": "buyer@example.com",
               "buyer_name": "John Doe", "amount": 75000, "currency": "IDR",
               "paid_at": "2026-05-06T10:00:00Z",
               "metadata": {"store_name": "Warung Bu Sari", "store_slug": "warung-bu-sari"},
               "purchase_id": "pur_x", "environment": "sandbox", "payment_type": "bank_transfer"}
    ids = [new_delivery(projects[n % len(projects)].id, "sandbox", EventType.ITEM_PURCHASED,
                        payload).id
           for n in range(int(sys.argv[1]))]
    db.session.commit()
    enqueue(ids)
"""


def reset_database() -> None:
    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DATABASE}"')


@dataclass(frozen=True)
class Setup:
    """One way of running the workers: `processes` × `flask worker --burst --worker-class
    worker_class --threads threads`, started together once every event is enqueued."""

    name: str
    worker_class: str
    threads: int
    processes: int = 1
    events: int | None = None  # None: --events

    def label(self) -> str:
        what = "SimpleWorker" if self.worker_class == "simple" else "Worker, fork per job"
        threads = f", {self.threads} threads" if self.worker_class == "simple" else ""
        many = f"{self.processes} processes × " if self.processes > 1 else ""
        return f"`{self.name}` ({many}{what}{threads})"


def run_once(
    setup: Setup, events: int, endpoints: int, env: dict[str, str], profile: Path | None
) -> dict[str, float]:
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
        [VENV_BIN / "python", "-c", SEED, str(events), str(endpoints)],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=600,
    )
    command = [VENV_BIN / "flask", "worker", "--burst", "--worker-class", setup.worker_class]
    if setup.worker_class == "simple":
        command += ["--threads", str(setup.threads)]
    commands = [list(command) for _ in range(setup.processes)]
    if profile is not None:
        # --format raw (collapsed stacks) when PROFILE_RAW is set, for counting by function.
        raw = bool(os.environ.get("PROFILE_RAW"))
        out = profile / f"webhook_{setup.name}.{'txt' if raw else 'svg'}"
        spy = [VENV_BIN / "py-spy", "record", "--nonblocking", "--rate", "200", "-o", out]
        commands[0] = [*spy, *(["--format", "raw"] if raw else []), "--", *command]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    workers = [
        subprocess.Popen(
            each, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        for each in commands
    ]
    for worker in workers:
        if worker.wait(timeout=900) != 0:
            raise SystemExit(f"{setup.name}: a worker exited with {worker.returncode}")
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    with psycopg.connect(f"{PG_SERVER}/{DATABASE}") as conn:
        delivered, attempts, first, last, p50 = conn.execute(
            """
            SELECT count(DISTINCT d.id) FILTER (WHERE d.status = 'delivered'), count(a.id),
                   min(a.started_at),
                   max(a.started_at + a.duration_ms * interval '1 millisecond'),
                   percentile_cont(0.5) WITHIN GROUP (ORDER BY a.duration_ms)
            FROM webhook_deliveries d JOIN webhook_attempts a ON a.delivery_id = d.id
            """
        ).fetchone()
    span = (last - first).total_seconds()
    if delivered != events:
        raise SystemExit(f"{setup.name}: only {delivered} of {events} delivered")
    return {
        "per_second": events / span,
        "span": span,
        "wall": wall,
        "http_p50_ms": p50,
        "cpu_ms": 1000 * cpu / events,
        "attempts": attempts,
        # The largest worker's peak (RUSAGE_CHILDREN keeps the maximum over children).
        "rss_mb": after.ru_maxrss / 1024,
    }


def machine() -> str:
    postgres = psycopg.connect(f"{PG_SERVER}/postgres").execute("SHOW server_version").fetchone()[0]
    import rq

    return (
        f"{hardware()}; "
        f"Python {platform.python_version()}, PostgreSQL {postgres}, RQ {rq.__version__}"
    )


SETUPS = {
    "threads": Setup("threads", "simple", 8),
    "one-thread": Setup("one-thread", "simple", 1),
    "fork": Setup("fork", "fork", 1, events=600),  # 14/s: more would take minutes
    "burst": Setup("burst", "simple", 8, processes=2, events=10_000),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--endpoints", type=int, default=24, help="projects the events spread over")
    parser.add_argument("--write", action="store_true", help="update docs/PERFORMANCE.md")
    parser.add_argument("--setups", nargs="+", default=list(SETUPS), choices=list(SETUPS))
    parser.add_argument("--profile", type=Path, help="py-spy flame graph of each first worker")
    args = parser.parse_args()

    port = free_port()
    receiver = subprocess.Popen(
        [VENV_BIN / "python", ROOT / "bench" / "fast_receiver.py", str(port)]
    )
    results = {}
    try:
        time.sleep(0.5)
        env = environment(port)
        for name in args.setups:
            setup = SETUPS[name]
            events = setup.events or args.events
            results[setup] = (events, run_once(setup, events, args.endpoints, env, args.profile))
    finally:
        receiver.terminate()
        receiver.wait(timeout=10)

    rows = [
        f"| {setup.label()} | {events:,} | {r['per_second']:.0f} | {r['span']:.1f} | "
        f"{r['http_p50_ms']:.0f} | {r['cpu_ms']:.1f} | {r['rss_mb']:.0f} | {r['attempts']:,} |"
        for setup, (events, r) in results.items()
    ]
    command = " ".join(
        [".venv/bin/python bench/webhook_throughput.py", f"--events {args.events}"]
        + [f"--endpoints {args.endpoints}", "--setups " + " ".join(args.setups), "--write"]
    )
    report = "\n".join(
        [
            MARK_START,
            f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {machine()}.",
            "",
            f"`{command}`: events spread over {args.endpoints} projects (at most 2 attempts "
            "in flight per endpoint), all enqueued before the workers start, a receiver "
            "answering 200 at once on loopback (bench/fast_receiver.py). Deliveries per second "
            "= events / (last attempt end − first attempt start), from the attempt log; CPU is "
            "the worker processes' user + system time (start-up included) per event; RSS the "
            "largest worker's peak.",
            "",
            "| workers | events | deliveries/s | span (s) | HTTP p50 (ms) "
            "| worker CPU per event (ms) | peak RSS (MB) | attempts |",
            "| --- | --- | --- | --- | --- | --- | --- | --- |",
            *rows,
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
