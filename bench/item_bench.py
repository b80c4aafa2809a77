"""Items (SPEC §13): the link page and the item checkout beside the bare route, and the memory
a 25 MB download costs the web process.

    .venv/bin/python bench/item_bench.py --base-url http://127.0.0.1:18093 \\
        --client-id … --client-secret … --web-pids 123 [--duration 10] [--write]

Against a running app (bench/item_bench.sh starts one: gunicorn from gunicorn.conf.py serving
bench.wsgi_bench:app, the product app plus `/_bench/bare`, with bench/fake_midtrans_status.py
answering Snap create at once). From this separate process on loopback:

1. creates an item with unlimited stock and uploads a 25 MB delivery file through the API;
2. runs wrk (bench/replay.lua, --latency) on the bare route, `GET /i/<slug>`, and
   `POST /api/platform/items/{id}/checkout` (each request a new checkout: a payment row, the
   Snap call to the fake, the answer);
3. settles one of those checkouts and issues its delivery link with the product's own code
   (app.services.checkout: apply_status, as a notification would), then downloads the file
   with requests, streaming, while sampling the web workers' resident memory from /proc every
   20 ms; reports the peak over the baseline;
4. --write puts the results between the item-bench markers of docs/PERFORMANCE.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shlex
import subprocess
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import requests
from machine import hardware
from report import write_block
from sqlalchemy import select

from app import create_app
from app.extensions import db
from app.models import EventOutcome, Payment, PaymentEvent, PaymentStatus
from app.services.checkout.handover import latest_link, link_url
from app.services.checkout.status import apply_status, lock_payment

ROOT = Path(__file__).resolve().parent.parent
FILE_BYTES = 25 * 1024 * 1024


def rss_kb(pid: int) -> int:
    text = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+)", text).group(1))


def wrk(base: str, name: str, lines: Path, post_path: str | None, args) -> dict:
    command = [
        "wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{args.duration}s",
        "--latency", "--timeout", "10s", "-s", "bench/replay.lua", base, "--", str(lines),
        str(args.threads), *(["post", post_path] if post_path else ["get"]),
    ]  # fmt: skip
    output = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=args.duration + 60, check=True
    ).stdout
    match = re.search(r"^BENCH_JSON (.*)$", output, re.M)
    if match is None:
        raise RuntimeError(f"wrk printed no BENCH_JSON line:\n{output}")
    data = json.loads(match.group(1))
    errors = sum(data["errors"].values())
    return {
        "name": name,
        "command": shlex.join(command).replace(str(lines), f"$WORKDIR/{lines.name}"),
        "rps": data["requests"] / (data["duration_us"] / 1e6),
        "p50": data["latency_us"]["p50"] / 1e3,
        "p90": data["latency_us"]["p90"] / 1e3,
        "p99": data["latency_us"]["p99"] / 1e3,
        "requests": data["requests"],
        "errors": errors,
    }


def make_item(http: requests.Session, base: str) -> dict:
    created = http.post(
        f"{base}/api/platform/items",
        json={"name": "Bench Ebook", "price": 45000, "description": "Resep, PDF."},
        timeout=30,
    )
    created.raise_for_status()
    item = created.json()
    with tempfile.TemporaryFile() as file:
        chunk = os.urandom(1024 * 1024)
        for _ in range(FILE_BYTES // len(chunk)):
            file.write(chunk)
        file.seek(0)
        uploaded = http.put(
            f"{base}/api/platform/items/{item['item_id']}/delivery",
            files={"file": ("bench-ebook.pdf", file, "application/pdf")},
            timeout=120,
        )
    uploaded.raise_for_status()
    return uploaded.json()


def settled_delivery_url(purchase_id: str) -> str:
    """Settle one checkout and issue its link as a confirmed notification would: the product's
    own apply_status, in this process, on the bench's database (no Midtrans in the bench)."""
    app = create_app()
    with app.app_context():
        found = db.session.scalar(select(Payment.id).where(Payment.purchase_id == purchase_id))
        payment = lock_payment(found)
        event = PaymentEvent(
            payment_id=payment.id, source="bench", raw_body="{}", outcome=EventOutcome.APPLIED
        )
        db.session.add(event)
        db.session.flush()
        apply_status(payment, PaymentStatus.SETTLEMENT, {"gross_amount": "45000.00"}, event)
        db.session.commit()
        return link_url(latest_link(payment.id))


def measure_download(url: str, pids: list[int]) -> dict:
    baseline = sum(rss_kb(pid) for pid in pids)
    peak = baseline
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, sum(rss_kb(pid) for pid in pids))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    received = 0
    with requests.get(url, stream=True, timeout=120) as response:
        response.raise_for_status()
        disposition = response.headers.get("Content-Disposition", "")
        for chunk in response.iter_content(256 * 1024):
            received += len(chunk)
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    return {
        "bytes": received,
        "seconds": seconds,
        "baseline_mb": baseline / 1024,
        "peak_mb": peak / 1024,
        "growth_mb": (peak - baseline) / 1024,
        "disposition": disposition,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--client-secret", required=True)
    parser.add_argument("--web-pids", required=True)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    base = args.base_url.rstrip("/")
    pids = [int(pid) for pid in args.web_pids.split(",") if pid]
    http = requests.Session()
    http.auth = (args.client_id, args.client_secret)

    item = make_item(http, base)
    workdir = Path(tempfile.mkdtemp(prefix="item-bench-"))
    bare, page = workdir / "bare.txt", workdir / "link.txt"
    bare.write_text("/_bench/bare\n")
    page.write_text(f"/i/{item['slug']}\n")
    body = json.dumps(
        {"client_id": args.client_id, "client_secret": args.client_secret,
         "buyer_email": "bench@example.com"}
    )  # fmt: skip
    checkouts = workdir / "checkout.jsonl"
    checkouts.write_text(body + "\n")
    checkout_path = f"/api/platform/items/{item['item_id']}/checkout"

    wrk(base, "warm-up", page, None, argparse.Namespace(**{**vars(args), "duration": 3}))
    results = [
        wrk(base, "bare route `/_bench/bare`", bare, None, args),
        wrk(base, "link page `GET /i/<slug>`", page, None, args),
        wrk(base, "item checkout `POST …/items/{id}/checkout`", checkouts, checkout_path, args),
        wrk(base, "bare route again", bare, None, args),
    ]
    one = http.post(f"{base}{checkout_path}", json={"buyer_email": "b@example.com"}, timeout=30)
    one.raise_for_status()
    download = measure_download(settled_delivery_url(one.json()["purchase_id"]), pids)

    lines = [
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {hardware()}, Python "
        f"{platform.python_version()}; gunicorn as the Procfile runs it "
        f"(WEB_CONCURRENCY={os.environ.get('WEB_CONCURRENCY', '?')}, "
        f"WEB_THREADS={os.environ.get('WEB_THREADS', '4')}), PostgreSQL, the fake Midtrans "
        f"answering Snap create at once; wrk with {args.connections} connections, "
        f"{args.threads} threads, {args.duration} s each.",
        "",
        "| route | requests/s | p50 ms | p90 ms | p99 ms | requests | errors |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        *(
            f"| {r['name']} | {r['rps']:.0f} | {r['p50']:.1f} | {r['p90']:.1f} | {r['p99']:.1f} "
            f"| {r['requests']} | {r['errors']} |"
            for r in results
        ),
        "",
        f"25 MB download through `/d/<token>`: {download['bytes']:,} bytes in "
        f"{download['seconds']:.2f} s; the web worker's resident memory "
        f"{download['baseline_mb']:.0f} MB before, at most {download['peak_mb']:.0f} MB during "
        f"(+{download['growth_mb']:.1f} MB); `Content-Disposition: {download['disposition']}`.",
        "",
        "Commands:",
        "",
        *(f"    {r['command']}" for r in results[:3]),
    ]
    print("\n".join(lines))
    if args.write:
        write_block(
            "item-bench", lines, "## Items: the link page, the item checkout, a 25 MB download"
        )


if __name__ == "__main__":
    main()
