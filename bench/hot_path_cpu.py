"""CPU per verify poll and per Midtrans notification in one process, beside a bare route.

    .venv/bin/python bench/hot_path_cpu.py [--requests 5000] [--notifications 1000] [--profile]

No HTTP server and no load generator: Flask's test client in this process, so the number is
the app's own CPU per request (time.process_time), undisturbed by scheduling on a shared
machine; PostgreSQL's and the fake's CPU are not in it. It makes a fresh PostgreSQL database
`lunas_hot_path_cpu` (dropped at the end) and one project with a webhook URL, then:

- verify, limits on (never reached) and off: one pending payment polled as a waiting buyer's
  page does;
- notifications: `--notifications` pending payments, each settled by one signed notification,
  Get Status answered by bench/fake_midtrans_status.py on port 18097; also the SQL statements
  each one sent. Redis database 12 holds the enqueued deliveries (no worker runs).

`--profile` prints cProfile's top functions for the limited verify and for notifications.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import subprocess
import sys
import time
from pathlib import Path

import psycopg
from fake_midtrans_status import spawn
from sqlalchemy import event

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SERVER = "postgresql://postgres@127.0.0.1:5432"
DATABASE = "lunas_hot_path_cpu"


def environment(limits: str) -> dict[str, str]:
    return {
        "LUNAS_ENV": "production",
        "SECRET_KEY": "bench-verify-cpu-secret-key-not-for-production",
        "LUNAS_DATA_KEY": "bench-verify-cpu-data-key-not-for-production",
        "DATABASE_URL": f"postgresql+psycopg://postgres@127.0.0.1:5432/{DATABASE}",
        "REDIS_URL": "redis://127.0.0.1:6379/12",
        "MIDTRANS_SIMULATOR": "0",
        "MIDTRANS_SANDBOX_SERVER_KEY": "SB-Mid-server-bench",
        "PUBLIC_BASE_URL": "https://lunas.bench",
        "RATE_LIMIT_VERIFY": limits,
        "RATE_LIMIT_VERIFY_ADDRESS": limits,
    }


def cpu_ms(client, url: str, requests: int) -> float:
    for _ in range(300):
        client.get(url)
    started = time.process_time()
    for _ in range(requests):
        client.get(url)
    return (time.process_time() - started) / requests * 1000


def measure(limits: str, requests: int, profile: bool) -> tuple[float, float]:
    from app import create_app
    from app.extensions import db
    from app.models import PaymentStatus
    from app.models.base import utcnow
    from tests.helpers import direct_payment, new_project, new_user

    os.environ.update(environment(limits))
    app = create_app()

    @app.get("/_bench/bare")
    def bare():
        return {}

    with app.app_context():
        new_user(f"bench-{limits.replace('/', '-')}@example.com")
        keys = new_project(owner=f"bench-{limits.replace('/', '-')}@example.com")
        payment = direct_payment(keys.project_id, utcnow(), status=PaymentStatus.PENDING)
        db.session.add(payment)
        db.session.commit()
        url = f"/api/platform/shop-payment/verify?order_id={payment.purchase_id}"
    client = app.test_client()
    assert client.get(url).status_code == 200
    time.sleep(0.5)  # the status cache's listener is up
    verify = cpu_ms(client, url, requests)
    bare_ms = cpu_ms(client, "/_bench/bare", requests)
    if profile:
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(requests // 2):
            client.get(url)
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)
    for name in ("lunas_status_cache", "lunas_rate_counters"):
        background = app.extensions.get(name)
        if background is not None:
            background.stop()
    return verify, bare_ms


FAKE_PORT = 18097


def notifications(count: int, profile: bool) -> tuple[float, float]:
    """CPU ms and SQL statements per settling notification."""
    from app import create_app
    from app.extensions import db
    from app.models import PaymentStatus
    from app.models.base import utcnow
    from bench.seed import notification_body
    from tests.helpers import direct_payment, new_project, new_user

    os.environ.update(environment("off"))
    os.environ["MIDTRANS_SANDBOX_API_BASE"] = f"http://127.0.0.1:{FAKE_PORT}"
    app = create_app()
    with app.app_context():
        new_user("bench-notify@example.com")
        keys = new_project(
            owner="bench-notify@example.com", webhook_url="https://merchant.example/hook"
        )
        payments = [
            direct_payment(keys.project_id, utcnow(), status=PaymentStatus.PENDING)
            for _ in range(count + 50)
        ]
        db.session.add_all(payments)
        db.session.commit()
        answers = [(p.purchase_id, f"{p.amount}.00") for p in payments]
        engine = db.engine
    answers_file = Path(f"/tmp/lunas-hot-path-{os.getpid()}.txt")
    answers_file.write_text("".join(f"{order} {amount}\n" for order, amount in answers))
    key = os.environ["MIDTRANS_SANDBOX_SERVER_KEY"]
    fake = spawn(FAKE_PORT, key, str(answers_file))
    statements = 0

    def seen(*_args) -> None:
        nonlocal statements
        statements += 1

    try:
        time.sleep(1.0)
        client = app.test_client()
        bodies = [notification_body(order, amount, key) for order, amount in answers]
        for body in bodies[:50]:  # warm-up
            assert client.post("/api/midtrans/notification", data=body).status_code == 200
        event.listen(engine, "before_cursor_execute", seen)
        profiler = cProfile.Profile() if profile else None
        started = time.process_time()
        if profiler:
            profiler.enable()
        for body in bodies[50:]:
            client.post("/api/midtrans/notification", data=body)
        if profiler:
            profiler.disable()
        cpu = (time.process_time() - started) / count * 1000
        event.remove(engine, "before_cursor_execute", seen)
        if profiler:
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
    finally:
        fake.terminate()
        fake.wait(5)
        answers_file.unlink()
        background = app.extensions.get("lunas_status_cache")
        if background is not None:
            background.stop()
    return cpu, statements / count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--notifications", type=int, default=1000)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        connection.execute(f"CREATE DATABASE {DATABASE}")
    try:
        subprocess.run(
            [str(ROOT / ".venv" / "bin" / "flask"), "--app", "wsgi", "db", "upgrade"],
            cwd=ROOT,
            env={**os.environ, **environment("off")},
            check=True,
            capture_output=True,
        )
        for limits in ("1000000000/minute", "off"):
            verify, bare = measure(limits, args.requests, args.profile and limits != "off")
            label = "on (never reached)" if limits != "off" else "off"
            print(
                f"limits {label}: verify {verify:.3f} ms CPU per poll, bare {bare:.3f} ms, "
                f"bare/verify {bare / verify:.0%}"
            )
        cpu, per_notification = notifications(args.notifications, args.profile)
        print(
            f"notifications: {cpu:.2f} ms CPU and {per_notification:.1f} SQL statements "
            "per settling notification"
        )
    finally:
        with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as connection:
            connection.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")


if __name__ == "__main__":
    main()
