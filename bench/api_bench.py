"""The merchant API's reads and the portal's CSV export at a million payments (SPEC §11.2, §11.7).

    .venv/bin/python bench/api_bench.py --base-url http://127.0.0.1:18091 \\
        --client-id … --client-secret … --project prj_… --email … --password … \\
        [--requests 30] [--deep-pages 200] [--web-pids 123,456] [--write]

Against a running app (bench/api_bench.sh starts one: gunicorn as the Procfile runs it, on a
PostgreSQL database filled by `flask payments seed`). From this separate process on loopback:
one warm-up, then --requests sequential GETs of each case with HTTP Basic, p50/p95/max. Page
--deep-pages is reached by following next_cursor. Then the whole CSV export, streamed through a
logged-in portal session, counting rows; meanwhile the resident memory of the web processes
(--web-pids: gunicorn's workers) is sampled from /proc every 50 ms, and its peak is reported.
--write puts the results between the api-bench markers of docs/PERFORMANCE.md.
"""

from __future__ import annotations

import argparse
import platform
import re
import statistics
import threading
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import requests
from machine import hardware
from report import write_block

WIB = timezone(timedelta(hours=7))
LIST_TARGET_MS, STATS_TARGET_MS, EXPORT_TARGET_MB = 20, 300, 150


def timed(http: requests.Session, url: str, count: int) -> tuple[float, list[float]]:
    """The first request's time (the warm-up: for statistics, the one that counts and stores
    the closed days the worker had not stored yet) and `count` more."""
    started = time.perf_counter()
    http.get(url, timeout=60).raise_for_status()
    first = (time.perf_counter() - started) * 1000
    times = []
    for _ in range(count):
        started = time.perf_counter()
        response = http.get(url, timeout=60)
        times.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
    return first, times


def p95(times: list[float]) -> float:
    ordered = sorted(times)
    return ordered[max(0, round(0.95 * len(ordered)) - 1)]


def cases(http: requests.Session, base: str, deep_pages: int) -> list[tuple[str, str, int]]:
    """(name, url, target ms) of each timed request."""
    today = datetime.now(UTC).astimezone(WIB).date()
    payments = f"{base}/api/platform/payments"
    cursor = None
    for _ in range(deep_pages - 1):
        body = http.get(payments, params={"starting_after": cursor} if cursor else {}, timeout=60)
        cursor = body.json()["next_cursor"]
    first = http.get(payments, params={"limit": 1}, timeout=60).json()["data"][0]
    since, until = today - timedelta(days=20), today - timedelta(days=10)
    return [
        ("payments, first page", payments, LIST_TARGET_MS),
        (f"payments, page {deep_pages} (next_cursor)", f"{payments}?starting_after={cursor}",
         LIST_TARGET_MS),
        ("payments, status=settlement", f"{payments}?status=settlement", LIST_TARGET_MS),
        ("payments, status=refund,partial_refund", f"{payments}?status=refund,partial_refund",
         LIST_TARGET_MS),
        ("payments, created_from/created_to (10 WIB days)",
         f"{payments}?created_from={since}&created_to={until}", LIST_TARGET_MS),
        ("payments, status=expire + 10-day range",
         f"{payments}?status=expire&created_from={since}&created_to={until}", LIST_TARGET_MS),
        ("payments, order_id", f"{payments}?order_id={first['order_id']}", LIST_TARGET_MS),
        ("payments, buyer_email", f"{payments}?buyer_email=BUYER123@example.com",
         LIST_TARGET_MS),
        ("payments, item_id=__direct__", f"{payments}?item_id=__direct__", LIST_TARGET_MS),
        ("statistics, period=month", f"{base}/api/platform/statistics?period=month",
         STATS_TARGET_MS),
        ("statistics, period=year", f"{base}/api/platform/statistics?period=year",
         STATS_TARGET_MS),
        ("statistics, period=all", f"{base}/api/platform/statistics?period=all",
         STATS_TARGET_MS),
    ]  # fmt: skip


def rss_mb(pids: list[int]) -> float:
    """The largest resident set among the processes, in MB."""
    largest = 0
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        match = re.search(r"VmRSS:\s+(\d+) kB", status)
        if match:
            largest = max(largest, int(match.group(1)))
    return largest / 1024


def export(base: str, project: str, email: str, password: str, pids: list[int]) -> dict:
    portal = requests.Session()

    def plain_http() -> None:
        # The app runs as in production, so its cookies are Secure; this client talks plain
        # HTTP to 127.0.0.1 and must send them anyway (bench only).
        for cookie in portal.cookies:
            cookie.secure = False

    page = portal.get(f"{base}/login", timeout=30).text
    plain_http()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    login = portal.post(
        f"{base}/login",
        data={"csrf_token": token, "email": email, "password": password},
        timeout=30,
        allow_redirects=False,
    )
    plain_http()
    if login.status_code != 302:
        raise SystemExit(f"login failed: HTTP {login.status_code}")
    before = rss_mb(pids)
    peak = [before]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], rss_mb(pids))
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    lines = size = 0
    url = f"{base}/projects/{project}/payments.csv"
    with portal.get(url, stream=True, timeout=600, allow_redirects=False) as r:
        r.raise_for_status()
        if r.headers.get("Content-Type", "").split(";")[0] != "text/csv":
            raise SystemExit(f"the export answered {r.status_code} {r.headers.get('Content-Type')}")
        for chunk in r.iter_content(chunk_size=1 << 16):
            lines += chunk.count(b"\n")
            size += len(chunk)
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    rows = lines - 1  # the header
    return {
        "rows": rows,
        "seconds": seconds,
        "rows_per_second": rows / seconds,
        "megabytes": size / 1e6,
        "rss_before": before,
        "rss_peak": peak[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--client-secret", required=True)
    parser.add_argument("--project", required=True)
    parser.add_argument("--email", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--deep-pages", type=int, default=200)
    parser.add_argument("--web-pids", default="")
    parser.add_argument("--note", default="")
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    base = args.base_url.rstrip("/")
    http = requests.Session()
    http.auth = (args.client_id, args.client_secret)
    pids = [int(pid) for pid in args.web_pids.split(",") if pid]

    lines = [
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {hardware()}, Python "
        f"{platform.python_version()}. {args.note}".strip(),
        "",
        f"Sequential requests from a second process on loopback, {args.requests} per case "
        "after one warm-up (its time in the first column: for statistics, the request that "
        "counts the closed days the worker's pass had not stored, which stores them); times "
        "include HTTP, authentication (the credential's hash is checked on every request) "
        "and JSON.",
        "",
        "| request | warm-up ms | p50 ms | p95 ms | max ms | target p95 |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for name, url, target in cases(http, base, args.deep_pages):
        first, times = timed(http, url, args.requests)
        verdict = "met" if p95(times) < target else "**missed**"
        lines.append(
            f"| {name} | {first:.1f} | {statistics.median(times):.1f} | {p95(times):.1f} | "
            f"{max(times):.1f} | < {target} ms: {verdict} |"
        )
        print(lines[-1], flush=True)
    result = export(base, args.project, args.email, args.password, pids)
    verdict = "met" if result["rss_peak"] < EXPORT_TARGET_MB else "**missed**"
    lines += [
        "",
        f"CSV export of the whole project (portal, Export CSV with no filter): "
        f"{result['rows']:,} rows, {result['megabytes']:.0f} MB in {result['seconds']:.1f} s "
        f"= **{result['rows_per_second']:,.0f} rows/s**; the web worker's resident memory "
        f"went from {result['rss_before']:.0f} MB to a peak of **{result['rss_peak']:.0f} MB** "
        f"(target < {EXPORT_TARGET_MB} MB: {verdict}).",
    ]
    print("\n".join(lines[-1:]), flush=True)
    if args.write:
        write_block("api-bench", lines, "## Merchant API and CSV export at a million payments")


if __name__ == "__main__":
    main()
