"""The rate limiter's cost on create and verify (SPEC §12): requests per second with the limits
on and off, same run, same database, same Redis.

    .venv/bin/python bench/limiter_bench.py --limited-url http://127.0.0.1:18095 \\
        --open-url http://127.0.0.1:18096 --client-id … --client-secret … --project prj_… \\
        --database postgresql://postgres@127.0.0.1:5432/lunas_bench_limits \\
        [--duration 10] [--rounds 3] [--write]

Against two running copies of the product (bench/limiter_bench.sh starts them): one whose
limits are on but high enough never to refuse (every request counts itself in Redis and gets
its RateLimit-* headers), one with every RATE_LIMIT_* off. From this separate process on
loopback, wrk (bench/replay.lua, --latency) takes turns between them, --rounds times, on:

- create: `POST /api/platform/shop-payment`, each request a new order id (a payment row, the
  Snap call to the fake Midtrans, the answer); the limited copy counts the credential;
- verify: `GET /api/platform/shop-payment/verify` over settled payments (no Midtrans call),
  half by purchase_id, half by order id and client_id; the limited copy counts the address
  with the order id, and the address alone.

Taking turns spreads drift (a warming cache, a growing table) over both sides. The median of
the rounds is reported, with the min and max. --write puts the results between the
limiter-bench markers of docs/PERFORMANCE.md.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import re
import shlex
import statistics
import subprocess
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import requests
from machine import hardware
from report import write_block

ROOT = Path(__file__).resolve().parent.parent
CREATE_PATH = "/api/platform/shop-payment"


def wrk(base: str, lines: Path, post_path: str | None, args) -> dict:
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
    return {
        "command": shlex.join(command).replace(str(lines), f"$WORKDIR/{lines.name}"),
        "rps": data["requests"] / (data["duration_us"] / 1e6),
        "p50": data["latency_us"]["p50"] / 1e3,
        "p99": data["latency_us"]["p99"] / 1e3,
        "requests": data["requests"],
        "errors": sum(data["errors"].values()),
        "wraps": data["wraps"],
    }


def create_bodies(path: Path, args, tag: str, count: int) -> None:
    """`count` create bodies, each with an order id no other line and no other run uses."""
    with path.open("w") as handle:
        for n in range(count):
            body = {
                "client_id": args.client_id, "client_secret": args.client_secret,
                "order_id": f"limits-{tag}-{n}", "amount": 25000,
                "buyer_email": f"buyer{n % 500}@example.com",
            }  # fmt: skip
            handle.write(json.dumps(body) + "\n")


def verify_paths(path: Path, args, count: int) -> None:
    with psycopg.connect(args.database) as conn:
        rows = conn.execute(
            "SELECT purchase_id, order_id FROM payments WHERE project_id = %s"
            " AND environment = 'sandbox' AND status = 'settlement' LIMIT 20000",
            (args.project,),
        ).fetchall()
    if not rows:
        raise RuntimeError("no settled payments to verify: was the project seeded?")
    rng = random.Random(20261206)
    with path.open("w") as handle:
        for _ in range(count):
            purchase_id, order_id = rows[rng.randrange(len(rows))]
            query = (
                f"order_id={purchase_id}"
                if rng.random() < 0.5
                else f"order_id={order_id}&client_id={args.client_id}"
            )
            handle.write(f"/api/platform/shop-payment/verify?{query}\n")


def sanity(args) -> str:
    """Both copies answer create and verify; only the limited one sends RateLimit-* headers.
    Returns the limited copy's RateLimit-Limit on create, for the record."""
    auth = (args.client_id, args.client_secret)
    seen = {}
    for name, base in (("limited", args.limited_url), ("open", args.open_url)):
        created = requests.post(
            base + CREATE_PATH, auth=auth, timeout=30,
            json={"order_id": f"limits-sanity-{name}", "amount": 25000,
                  "buyer_email": "sanity@example.com"},
        )  # fmt: skip
        if created.status_code != 201:
            raise RuntimeError(f"{name} create: HTTP {created.status_code} {created.text[:300]}")
        verified = requests.get(
            base + "/api/platform/shop-payment/verify",
            params={"order_id": created.json()["purchase_id"]}, timeout=30,
        )  # fmt: skip
        if verified.status_code != 200:
            raise RuntimeError(f"{name} verify: HTTP {verified.status_code} {verified.text[:300]}")
        seen[name] = tuple(answer.headers.get("RateLimit-Limit") for answer in (created, verified))
    if None in seen["limited"] or seen["open"] != (None, None):
        raise RuntimeError(f"RateLimit-Limit headers (create, verify): {seen}")
    return seen["limited"][0]


def summary(runs: list[dict]) -> dict:
    rates = [run["rps"] for run in runs]
    return {
        "median": statistics.median(rates), "min": min(rates), "max": max(rates),
        "p50": statistics.median(run["p50"] for run in runs),
        "p99": statistics.median(run["p99"] for run in runs),
        "requests": sum(run["requests"] for run in runs),
        "errors": sum(run["errors"] for run in runs),
        "wraps": sum(run["wraps"] for run in runs),
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limited-url", required=True)
    parser.add_argument("--open-url", required=True)
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--client-secret", required=True)
    parser.add_argument("--project", required=True)
    parser.add_argument("--database", required=True)
    parser.add_argument("--limit-value", default="?", help="the limited copy's RATE_LIMIT_* value")
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    header_limit = sanity(args)

    workdir = Path(tempfile.mkdtemp(prefix="limiter-bench-"))
    verify = workdir / "verify_paths.txt"
    verify_paths(verify, args, 40000)
    sides = {"limited": args.limited_url, "open": args.open_url}
    runs: dict[tuple[str, str], list[dict]] = {}
    # Ample unique bodies per run: a create never repeats an order id (a repeat is a replay).
    per_run = 4000 * args.duration
    for round_number in range(args.rounds):
        for name, base in sides.items():
            bodies = workdir / f"create_{name}_{round_number}.jsonl"
            create_bodies(bodies, args, f"{name}{round_number}", per_run)
            runs.setdefault(("create", name), []).append(wrk(base, bodies, CREATE_PATH, args))
            bodies.unlink()
        for name, base in sides.items():
            runs.setdefault(("verify", name), []).append(wrk(base, verify, None, args))

    results = {key: summary(value) for key, value in runs.items()}
    lines = [
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {hardware()}, Python "
        f"{platform.python_version()}. Two copies of the product, gunicorn as the Procfile runs "
        "it, on one PostgreSQL database and one Redis; the fake Midtrans answers Snap create at "
        f"once. Limited: RATE_LIMIT_API_SANDBOX, RATE_LIMIT_VERIFY and RATE_LIMIT_VERIFY_ADDRESS "
        f"`{args.limit_value}` (never reached; RateLimit-Limit on create: {header_limit}). Open: "
        f"every RATE_LIMIT_* `off`. wrk with {args.connections} connections, {args.threads} "
        f"threads, {args.duration} s, {args.rounds} rounds taking turns.",
        "",
        "| route | limits | requests/s median (min–max) | p50 ms | p99 ms | requests | errors "
        "| cost of the limiter |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for route, label in (("create", "create `POST /api/platform/shop-payment`"),
                         ("verify", "verify `GET …/shop-payment/verify`")):  # fmt: skip
        limited, opened = results[(route, "limited")], results[(route, "open")]
        cost = 1 - limited["median"] / opened["median"]
        for name, result in (("on", limited), ("off", opened)):
            lines.append(
                f"| {label} | {name} | {result['median']:.0f} ({result['min']:.0f}–"
                f"{result['max']:.0f}) | {result['p50']:.1f} | {result['p99']:.1f} | "
                f"{result['requests']} | {result['errors']} | "
                + (f"{cost:.1%} fewer requests/s" if name == "on" else "")
                + " |"
            )
    wraps = sum(result["wraps"] for key, result in results.items() if key[0] == "create")
    lines += [
        "",
        f"Create bodies reused: {wraps} times (0: every create was a new order id).",
        "",
        "Commands (one round):",
        "",
        *(f"    {runs[key][0]['command']}" for key in sorted(runs)),
    ]
    print("\n".join(lines))
    if args.write:
        write_block(
            "limiter-bench",
            lines,
            "## The rate limiter's cost on create and verify\n\n"
            "How to rerun: `bench/limiter_bench.sh` (about 3 minutes).",
        )


if __name__ == "__main__":
    main()
