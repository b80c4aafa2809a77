"""Portal pages at a million payments (issue item 10): time the payments list and the overview.

    .venv/bin/python bench/portal_bench.py --base-url http://127.0.0.1:18090 \\
        --email bench@example.com --password … --case realistic=prj_… [--case harsh=prj_…] \\
        [--requests 30] [--deep-pages 200] [--explain] [--write]

Against a running app (bench/portal_bench.sh starts one: gunicorn as the Procfile runs it, on a
PostgreSQL database filled by `flask payments seed`). From this separate process, like a
browser: logs in through the real /login form (CSRF token parsed from the page), then for each
case (a project) times, with `requests`, one warm-up and then --requests sequential GETs of
each page and prints p50/p95/max. The deep page is reached by following the "Older" link
--deep-pages times. The overview is timed three ways, from what is stored in
payment_day_totals (services/reporting/day_totals.py): nothing stored (stored days deleted before
each request: a project environment before the worker's first pass), one closed day to
recount (yesterday invalidated before each request), every closed day stored (what the seed
and the worker's maintenance pass leave);
the first two need DATABASE_URL. --explain also runs EXPLAIN (ANALYZE, BUFFERS) of the same
queries (through app/services/reporting/, DATABASE_URL from the environment) and keeps the
plans' key lines.
--write puts the results between the portal-bench markers of docs/PERFORMANCE.md.
"""

from __future__ import annotations

import argparse
import html
import os
import platform
import re
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import requests
from machine import hardware

WIB = timezone(timedelta(hours=7))  # app/clock.py: the portal's days

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "PERFORMANCE.md"
MARK_START, MARK_END = "<!-- portal-bench:start -->", "<!-- portal-bench:end -->"
TARGET_MS = 300
KEY_PLAN_LINES = re.compile(
    r"(Scan|Limit|Sort|Aggregate|Nested Loop|Index Cond|Filter|Heap Fetches|Execution Time)"
)


class Portal:
    """A logged-in browser session over plain HTTP on loopback."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = requests.Session()

    def get(self, path: str) -> requests.Response:
        response = self.http.get(self.base_url + path, timeout=30, allow_redirects=False)
        self._allow_plain_http()
        return response

    def log_in(self, email: str, password: str) -> None:
        page = self.get("/login").text
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        response = self.http.post(
            self.base_url + "/login",
            data={"csrf_token": token, "email": email, "password": password},
            timeout=30,
            allow_redirects=False,
        )
        self._allow_plain_http()
        if response.status_code != 302:
            raise SystemExit(f"login failed: HTTP {response.status_code}")

    def _allow_plain_http(self) -> None:
        # The app runs as in production, so its cookies are Secure; this client talks plain
        # HTTP to 127.0.0.1 and must send them anyway (bench only).
        for cookie in self.http.cookies:
            cookie.secure = False


def older_link(page: str) -> str | None:
    match = re.search(r'<a href="([^"]+)" rel="next">', page)
    return html.unescape(match.group(1)) if match else None


def scenarios(portal: Portal, project_id: str, deep_pages: int) -> list[tuple[str, str]]:
    """(name, path) of each measured page; the deep page's path comes from a walk."""
    today = datetime.now(UTC).astimezone(WIB).date()
    base = f"/projects/{project_id}/payments?env=sandbox"
    since, until = today - timedelta(days=20), today - timedelta(days=10)
    path = base
    for _ in range(deep_pages):
        path = older_link(portal.get(path).text) or path
    return [
        ("payments, first page", base),
        (
            "payments, status=settlement + 10-day range",
            f"{base}&status=settlement&from={since}&to={until}",
        ),
        ("payments, status=refund + 10-day range", f"{base}&status=refund&from={since}&to={until}"),
        (f"payments, {deep_pages} pages deep (Older links)", path),
        ("payments, search by buyer email", f"{base}&q=Buyer123%40example.com"),
    ]


def overview_scenarios(project_id: str) -> list[tuple[str, str, Callable[[], None] | None]]:
    """(name, path, what to do before each timed request) of the overview. The stored day
    totals (services/reporting/day_totals.py) make its cost depend on what is stored: dropping them
    (or invalidating one day) before each request needs the database (DATABASE_URL)."""
    path = f"/projects/{project_id}?env=sandbox"
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgresql"):
        return [("overview, closed days stored (after the seed or a worker pass)", path, None)]
    import psycopg

    url = url.replace("postgresql+psycopg://", "postgresql://")
    yesterday = datetime.now(UTC).astimezone(WIB).date() - timedelta(days=1)

    def run(statement: str, *params) -> Callable[[], None]:
        def before() -> None:
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(statement, (project_id, *params))

        return before

    return [
        (
            "overview, nothing stored (before the worker's first pass): counts 29 closed days",
            path,
            run("DELETE FROM payment_day_totals WHERE project_id = %s"),
        ),
        (
            "overview, one closed day to recount (a new day, a late settlement)",
            path,
            run(
                "UPDATE payment_day_totals SET valid = false, version = version + 1 "
                "WHERE project_id = %s AND day = %s",
                yesterday,
            ),
        ),
        ("overview, closed days stored (after the seed or a worker pass)", path, None),
    ]


def measure(
    portal: Portal, path: str, count: int, before: Callable[[], None] | None = None
) -> dict[str, float]:
    portal.get(path)  # warm-up: the first request of a page in a fresh worker
    times = []
    for _ in range(count):
        if before is not None:
            before()  # not timed
        started = time.perf_counter()
        response = portal.get(path)
        times.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"{path}: HTTP {response.status_code}")
    times.sort()
    return {
        "p50": statistics.median(times),
        "p95": times[max(0, round(0.95 * len(times)) - 1)],
        "max": times[-1],
    }


def explain(project_id: str) -> list[tuple[str, list[str]]]:
    """EXPLAIN (ANALYZE, BUFFERS) of what each page runs, through the app's own services."""
    from sqlalchemy import event

    from app import create_app
    from app.clock import WIB, start_of_day_utc, today_wib
    from app.extensions import db
    from app.models import PaymentStatus
    from app.services.reporting import day_totals, overview
    from app.services.reporting import payments as reports
    from app.services.reporting.paging import Cursor

    app = create_app()
    today = today_wib()
    window = dict(
        created_from=start_of_day_utc(today - timedelta(days=20)),
        created_before=start_of_day_utc(today - timedelta(days=9)),
    )
    old = Cursor(datetime.now(UTC) - timedelta(days=25), 2**62)

    def overview_first_view() -> None:
        day_totals.clear(project_id, "sandbox")
        db.session.commit()
        captured.clear()  # only the overview's own statements
        overview.project_overview(project_id, "sandbox", today, WIB, 30)

    calls = [
        (
            "first page",
            lambda: reports.list_payments(project_id, "sandbox", reports.PaymentFilters()),
        ),
        (
            "status=refund + 10-day range",
            lambda: reports.list_payments(
                project_id, "sandbox", reports.PaymentFilters(PaymentStatus.REFUND, **window)
            ),
        ),
        (
            "deep page (a cursor 25 days back)",
            lambda: reports.list_payments(project_id, "sandbox", reports.PaymentFilters(), old),
        ),
        (
            "search by email",
            lambda: reports.list_payments(
                project_id, "sandbox", reports.PaymentFilters(search="buyer123@example.com")
            ),
        ),
        ("overview, nothing stored", overview_first_view),
        (
            "overview, closed days stored",
            lambda: overview.project_overview(project_id, "sandbox", today, WIB, 30),
        ),
    ]
    plans = []
    with app.app_context():
        captured: list[tuple[str, object]] = []
        event.listen(
            db.engine,
            "before_cursor_execute",
            lambda _c, _cur, statement, params, *_: captured.append((statement, params)),
        )
        for name, call in calls:
            captured.clear()
            call()
            statements = list(captured)
            for number, (statement, params) in enumerate(statements, 1):
                if not statement.lstrip().upper().startswith(("SELECT", "WITH")):
                    continue  # the overview's stores: one-row writes, timed by the requests
                label = (
                    f"{name}, statement {number} of {len(statements)}"
                    if len(statements) > 1
                    else name
                )
                with db.engine.connect() as conn:
                    lines = conn.exec_driver_sql(
                        "EXPLAIN (ANALYZE, BUFFERS) " + statement, params
                    ).scalars()
                    plans.append((label, [line for line in lines if KEY_PLAN_LINES.search(line)]))
        db.engine.dispose()
    return plans


def machine() -> str:
    load = " / ".join(Path("/proc/loadavg").read_text().split()[:3])
    postgres = ""
    if os.environ.get("DATABASE_URL", "").startswith("postgresql"):
        import psycopg

        url = os.environ["DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(url) as conn:
            version = conn.execute("SHOW server_version").fetchone()[0]
            buffers = conn.execute("SHOW shared_buffers").fetchone()[0]
        postgres = f", PostgreSQL {version} (shared_buffers {buffers})"
    return (
        f"{hardware()}, load average at start {load}; Python {platform.python_version()}{postgres}"
    )


def report(results: dict, plans: dict, args, started: str) -> str:
    lines = [
        MARK_START,
        f"Measured {started} UTC on {args.machine}. {args.requests} sequential requests per page "
        "after one warm-up, from a separate process over loopback (client-side time: "
        "request to last byte).",
        *([f"Seeding: {args.note}."] if args.note else []),
        "",
        "| case | page | p50 ms | p95 ms | max ms | target < 300 ms |",
        "| --- | --- | ---: | ---: | ---: | --- |",
    ]
    for case, rows in results.items():
        for name, timing in rows:
            verdict = (
                "met"
                if timing["max"] < TARGET_MS
                else ("**miss** (p95)" if timing["p95"] >= TARGET_MS else "met at p95, max over")
            )
            lines.append(
                f"| {case} | {name} | {timing['p50']:.0f} | {timing['p95']:.0f} | "
                f"{timing['max']:.0f} | {verdict} |"
            )
    for case, case_plans in plans.items():
        lines += ["", f"EXPLAIN (ANALYZE, BUFFERS), key lines, case {case}:", "", "```"]
        for name, plan in case_plans:
            lines.append(f"-- {name}")
            lines += [line.rstrip() for line in plan]
        lines.append("```")
    lines.append(MARK_END)
    return "\n".join(lines)


def write(block: str) -> None:
    text = DOC.read_text()
    if MARK_START in text:
        text = re.sub(
            re.escape(MARK_START) + ".*?" + re.escape(MARK_END), lambda _: block, text, flags=re.S
        )
    else:
        text = text.rstrip() + "\n\n## Portal at a million payments\n\n" + block + "\n"
    DOC.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:18090")
    parser.add_argument("--email", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--case", action="append", required=True, help="LABEL=PROJECT_ID")
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--deep-pages", type=int, default=200)
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--write", action="store_true")
    parser.add_argument("--note", default="", help="a line for the report (e.g. seed times)")
    args = parser.parse_args()

    started = f"{datetime.now(UTC):%Y-%m-%d %H:%M}"
    args.machine = machine()  # before the load this run adds
    portal = Portal(args.base_url)
    portal.log_in(args.email, args.password)
    results, plans = {}, {}
    for case in args.case:
        label, _, project_id = case.partition("=")
        results[label] = []
        pages = [
            (name, path, None) for name, path in scenarios(portal, project_id, args.deep_pages)
        ]
        for name, path, before in pages + overview_scenarios(project_id):
            timing = measure(portal, path, args.requests, before)
            results[label].append((name, timing))
            print(
                f"{label:10} {name:68} p50 {timing['p50']:6.1f}  p95 {timing['p95']:6.1f}  "
                f"max {timing['max']:6.1f} ms",
                flush=True,
            )
        if args.explain:
            plans[label] = explain(project_id)
    block = report(results, plans, args, started)
    print(block)
    if args.write:
        write(block)


if __name__ == "__main__":
    main()
