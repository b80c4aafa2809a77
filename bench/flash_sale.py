"""The flash sale, whole: buyers polling verify, Midtrans settling, workers delivering webhooks.

    .venv/bin/python bench/flash_sale.py [--buyers 2000] [--poll-seconds 3] [--rate 100]
        [--seconds 120] [--workers 2] [--write]

On one machine, for --seconds: --buyers buyers on the callback page each poll verify every
--poll-seconds (an even stream of buyers / poll-seconds requests a second), and --rate
settlement notifications a second reach the notification endpoint, each confirmed by Get
Status at a local fake (bench/fake_midtrans_status.py). The web runs as the Procfile runs it
(`gunicorn -c gunicorn.conf.py wsgi:app`), beside --workers `flask worker` processes that deliver
each settlement's item.purchased to a local receiver (bench/lag_receiver.py). The load comes from
this script (asyncio, kept-alive connections), paced by the clock: a request's latency runs from
when it was due, so a server that falls behind is not hidden by a client that waits for it.

After the load it waits (at most --drain seconds) for every settled payment's webhook, then
reports: errors, verify and notification latencies, webhook lag (the notification's 200, which
comes after its commit, to the receiver's arrival), duplicates, and each process's CPU (in
cores, over the load) and peak memory. With --write the report replaces the flash-sale block of
docs/PERFORMANCE.md. PostgreSQL database `lunas_bench_flash` (re-created) and Redis db 11
(emptied). It is a report, not a gate: the load generator shares the machine's cores.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import contextlib
import json
import os
import socket
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from machine import hardware
from report import write_block
from run_bench import (
    BIN,
    ROOT,
    Processes,
    _machine_jiffies,
    _process_jiffies,
    clean_environ,
    flush_redis,
    run,
    wait_until_ready,
)

SERVER_KEY = "SB-Mid-server-bench-flash-0123456789"
DATABASE = "lunas_bench_flash"
PG = "postgresql://postgres@127.0.0.1:5432"
REDIS_URL = "redis://127.0.0.1:6379/11"
NOTIFY_PATH = "/api/midtrans/notification"
TARGETS = {"verify_p99_ms": 100.0, "lag_p99_s": 10.0}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- the load ----------------------------------------------------------------------------------


class Pool:
    """Kept-alive HTTP/1.1 connections to the web, one request at a time on each."""

    def __init__(self, port: int, size: int) -> None:
        self.port, self.size, self.opened = port, size, 0
        self.idle: asyncio.Queue = asyncio.Queue()

    async def _take(self):
        if self.idle.empty() and self.opened < self.size:
            self.opened += 1
            try:
                return await asyncio.open_connection("127.0.0.1", self.port)
            except OSError:
                self.opened -= 1
                raise
        return await self.idle.get()

    async def request(self, raw: bytes) -> int:
        reader, writer = await self._take()
        try:
            writer.write(raw)
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            status = int(lines[0].split(" ", 2)[1])
            fields = {k.lower(): v for k, _, v in (line.partition(": ") for line in lines[1:])}
            length = int(fields.get("content-length", "0"))
            if length:
                await reader.readexactly(length)
        except (OSError, asyncio.IncompleteReadError, ValueError, asyncio.CancelledError):
            # Cancelled too (the caller's timeout): a half-read connection is never reused.
            writer.close()
            self.opened -= 1
            raise
        if fields.get("connection", "").lower() == "close":
            writer.close()
            self.opened -= 1
        else:
            self.idle.put_nowait((reader, writer))
        return status


@dataclass
class Stream:
    """One paced stream of requests and what came back."""

    name: str
    latencies: list[float] = field(default_factory=list)  # from when each was due, seconds
    service: list[float] = field(default_factory=list)  # from when each was sent
    statuses: dict[str, int] = field(default_factory=dict)
    answered_at: dict[int, float] = field(default_factory=dict)  # request number → unix time

    def note(self, outcome: str) -> None:
        self.statuses[outcome] = self.statuses.get(outcome, 0) + 1


async def paced(stream: Stream, pool: Pool, rate: float, seconds: float, make) -> None:
    """`make(n)` → request bytes, the n-th sent at start + n / rate, for `seconds`."""
    loop = asyncio.get_running_loop()
    start, running = loop.time(), set()

    async def one(number: int, due: float) -> None:
        sent = loop.time()
        try:
            status = await asyncio.wait_for(pool.request(make(number)), 30)
        except (OSError, asyncio.IncompleteReadError, ValueError, TimeoutError) as exc:
            stream.note(type(exc).__name__)
            return
        done = loop.time()
        stream.note(str(status))
        stream.latencies.append(done - due)
        stream.service.append(done - sent)
        if status == 200:
            stream.answered_at[number] = time.time()

    number = 0
    while (due := start + number / rate) < start + seconds:
        wait = due - loop.time()
        if wait > 0:
            await asyncio.sleep(wait)
        task = asyncio.create_task(one(number, due))
        running.add(task)
        task.add_done_callback(running.discard)
        number += 1
    await asyncio.gather(*running)


def get(path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()


def post(path: str, body: str) -> bytes:
    data = body.encode()
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(data)}\r\n\r\n"
    ).encode() + data


async def warm_up(args, port: int, verify_paths: list[str]) -> None:
    """Polls only, not measured: every web process's first requests, the status cache."""
    pool, rate = Pool(port, args.poll_connections), args.buyers / args.poll_seconds
    paths = verify_paths
    await paced(Stream("warm-up"), pool, rate, args.warmup, lambda n: get(paths[n % len(paths)]))


async def load(args, port: int, verify_paths: list[str], notifications: list[str]):
    polls, settles = Stream("verify"), Stream("notification")
    poll_rate = args.buyers / args.poll_seconds
    await asyncio.gather(
        paced(
            polls,
            Pool(port, args.poll_connections),
            poll_rate,
            args.seconds,
            lambda n: get(verify_paths[n % len(verify_paths)]),
        ),
        paced(
            settles,
            Pool(port, args.notify_connections),
            args.rate,
            args.seconds,
            lambda n: post(NOTIFY_PATH, notifications[n]),
        ),
    )
    return polls, settles


# -- the processes' CPU and memory --------------------------------------------------------------


class Meter:
    """CPU (jiffies over the load) and peak memory (PSS, sampled every second: shared pages
    counted once over the processes that share them, so PostgreSQL's shared buffers are not
    counted once per backend) per named group: a process group of ours, this database's
    PostgreSQL backends, Redis, this script."""

    def __init__(self, groups: dict[int, str]) -> None:
        self.groups = groups
        self.peak: dict[str, float] = {}
        self.stopped = threading.Event()

    def kind(self, pid: int, pgid: int, cmdline: str) -> str | None:
        if pid == os.getpid():
            return "load generator (this script)"
        if pgid in self.groups:
            return self.groups[pgid]
        if cmdline.startswith("postgres: ") and f" {DATABASE} " in cmdline:
            return "PostgreSQL backends"
        if cmdline.startswith("postgres: "):
            return "PostgreSQL shared (WAL writer, checkpointer, …)"
        if cmdline.startswith("redis-server"):
            return "Redis (shared with other databases)"
        return None

    def _sample(self) -> None:
        sums: dict[str, float] = {}
        for pid, (pgid, _, cmdline) in _process_jiffies().items():
            kind = self.kind(pid, pgid, cmdline)
            if kind is None:
                continue
            with contextlib.suppress(OSError, StopIteration):
                rollup = Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()
                pss = next(line for line in rollup if line.startswith("Pss:"))
                sums[kind] = sums.get(kind, 0) + int(pss.split()[1]) * 1024
        for kind, rss in sums.items():
            self.peak[kind] = max(self.peak.get(kind, 0), rss)

    def _loop(self) -> None:
        while not self.stopped.wait(1.0):
            self._sample()

    def start(self) -> None:
        self.machine = _machine_jiffies()
        self.before = _process_jiffies()
        self.started = time.monotonic()
        threading.Thread(target=self._loop, daemon=True).start()

    def stop(self) -> dict[str, tuple[float, float]]:
        """kind → (CPU in cores over the load, peak PSS in MB)."""
        self.stopped.set()
        elapsed = time.monotonic() - self.started
        tick = os.sysconf("SC_CLK_TCK")
        used: dict[str, float] = {}
        for pid, (pgid, jiffies, cmdline) in _process_jiffies().items():
            kind = self.kind(pid, pgid, cmdline)
            if kind is not None:
                before = self.before.get(pid)
                used[kind] = used.get(kind, 0) + jiffies - (before[1] if before else 0)
        (busy_before, total_before), (busy_after, total_after) = self.machine, _machine_jiffies()
        busy, total = busy_after - busy_before, total_after - total_before
        self.busy_cores = (os.cpu_count() or 1) * busy / max(total, 1)
        kinds = sorted(set(used) | set(self.peak))
        return {
            kind: (used.get(kind, 0) / tick / elapsed, self.peak.get(kind, 0) / 2**20)
            for kind in kinds
        }


# -- the run -----------------------------------------------------------------------------------


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def prepare(args, env: dict, workdir: Path, receiver_url: str) -> None:
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DATABASE}"')
    flask = [str(BIN / "flask"), "--app", "wsgi"]
    run([*flask, "db", "upgrade"], env=env)
    run(
        [*flask, "users", "create", "--email", "flash@example.com", "--password", "flash-pass-1"],
        env,
    )
    created = json.loads(
        run(
            [*flask, "projects", "create", "--owner", "flash@example.com", "--name", "Toko Kilat"]
            + ["--store-url-template", "https://karejo.example/{store_slug}"]
            + ["--webhook-url", receiver_url],
            env=env,
        )
    )
    sale = int(args.rate * args.seconds) + 10
    command = [str(BIN / "python"), "-m", "bench.seed", "--project-id", created["project"]["id"]]
    command += ["--out", str(workdir), "--payments", str(sale + args.buyers * 5)]
    command += ["--verify-paths", str(args.buyers), "--group", f"sale:{sale}"]
    print(run(command, env=env, timeout=900).strip(), flush=True)
    # Get Status knows only the sale's payments: the worker's pending janitor, which asks it
    # about every overdue pending payment, must not settle the filler (and add webhooks).
    sold = {json.loads(line)["order_id"] for line in (workdir / "notify_sale.jsonl").open()}
    answers = workdir / "status_answers.txt"
    kept = [line for line in answers.read_text().splitlines() if line.split()[0] in sold]
    answers.write_text("\n".join(kept) + "\n")


def webhooks(path: Path) -> list[tuple[float, str, str]]:
    rows = []
    for line in path.read_text().splitlines():
        at, webhook_id, purchase_id = line.split(" ", 2)
        rows.append((float(at), webhook_id, purchase_id))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--buyers", type=int, default=2000)
    parser.add_argument("--poll-seconds", type=float, default=3.0)
    parser.add_argument("--rate", type=float, default=100.0, help="settlements a second")
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--workers", type=int, default=2, help="`flask worker` processes")
    parser.add_argument("--poll-connections", type=int, default=64)
    parser.add_argument("--notify-connections", type=int, default=32)
    parser.add_argument("--drain", type=float, default=120.0, help="wait for webhooks after")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds of polls first")
    parser.add_argument("--write", action="store_true", help="update docs/PERFORMANCE.md")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="lunas-flash-"))
    port, fake_port, receiver_port = free_port(), free_port(), free_port()
    env = clean_environ()
    env.update(
        {
            "LUNAS_ENV": "production",
            "SECRET_KEY": "bench-flash-secret-key-not-for-production",
            "LUNAS_DATA_KEY": "bench-flash-data-key-not-for-production",
            "DATABASE_URL": f"{PG.replace('postgresql://', 'postgresql+psycopg://')}/{DATABASE}",
            "REDIS_URL": REDIS_URL,
            "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
            "PORT": str(port),
            "MIDTRANS_SIMULATOR": "0",
            "MIDTRANS_SANDBOX_SERVER_KEY": SERVER_KEY,
            "MIDTRANS_SANDBOX_API_BASE": f"http://127.0.0.1:{fake_port}",
            "MIDTRANS_SANDBOX_SNAP_BASE": f"http://127.0.0.1:{fake_port}/snap",
            # The receiver is on loopback over http: let the guard through.
            "WEBHOOK_ALLOW_PRIVATE_TARGETS": "1",
            "WEBHOOK_REQUIRE_HTTPS": "0",
            # The limits count as in production but are never reached: every poll comes from
            # one address here, where a flash sale's buyers come from thousands.
            "RATE_LIMIT_VERIFY": "1000000000/minute",
            "RATE_LIMIT_VERIFY_ADDRESS": "1000000000/minute",
        }
    )
    procs = Processes(workdir / "pids")
    atexit.register(procs.stop_all)
    flush_redis(REDIS_URL)
    receiver_log = workdir / "webhooks.txt"
    receiver_url = f"http://127.0.0.1:{receiver_port}/hooks/lunas"
    prepare(args, env, workdir, receiver_url)

    python = str(BIN / "python")
    groups = {}
    fake = procs.start(
        "fake",
        [python, "bench/fake_midtrans_status.py", "--port", str(fake_port)]
        + ["--server-key", SERVER_KEY, "--payments", str(workdir / "status_answers.txt")],
        env,
        workdir / "fake.log",
    )
    groups[fake.pid] = "fake Midtrans Get Status"
    receiver = procs.start(
        "receiver",
        [python, "bench/lag_receiver.py", str(receiver_port), str(receiver_log)],
        env,
        workdir / "receiver.log",
    )
    groups[receiver.pid] = "merchant receiver"
    web = procs.start(
        "web",
        [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"],
        env,
        workdir / "web.log",
    )
    groups[web.pid] = "web (gunicorn, all processes)"
    for number in range(1, args.workers + 1):
        worker = procs.start(
            f"worker-{number}",
            [str(BIN / "flask"), "--app", "wsgi", "worker"],
            env,
            workdir / f"worker-{number}.log",
        )
        groups[worker.pid] = f"worker {number} (`flask worker`)"
    wait_until_ready(f"http://127.0.0.1:{port}/api/openapi.json", web, 60)
    time.sleep(3)  # the workers' imports and first heartbeats

    verify_paths = (workdir / "verify_paths.txt").read_text().split()
    notifications = (workdir / "notify_sale.jsonl").read_text().splitlines()
    asyncio.run(warm_up(args, port, verify_paths))
    meter = Meter(groups)
    meter.start()
    started = time.time()
    polls, settles = asyncio.run(load(args, port, verify_paths, notifications))
    load_seconds = time.time() - started
    usage = meter.stop()

    settled = {
        json.loads(notifications[number])["order_id"]: at
        for number, at in settles.answered_at.items()
    }
    deadline = time.monotonic() + args.drain
    while time.monotonic() < deadline:
        time.sleep(1)
        with contextlib.suppress(OSError, ValueError):
            if {row[2] for row in webhooks(receiver_log)} >= set(settled):
                break
    drained = time.time() - started - load_seconds
    procs.stop(receiver)
    arrived = webhooks(receiver_log)
    first_arrival: dict[str, float] = {}
    ids: dict[str, set[str]] = {}
    arrived = [row for row in arrived if row[2] in settled]
    for at, webhook_id, purchase_id in arrived:
        first_arrival[purchase_id] = min(at, first_arrival.get(purchase_id, at))
        ids.setdefault(purchase_id, set()).add(webhook_id)
    lags = [max(first_arrival[p] - at, 0.0) for p, at in settled.items() if p in first_arrival]
    missing = len(set(settled) - set(first_arrival))
    procs.stop_all()

    poll_errors = sum(n for status, n in polls.statuses.items() if status != "200")
    notify_errors = sum(n for status, n in settles.statuses.items() if status != "200")
    verify_p99 = 1000 * percentile(polls.latencies, 0.99)
    lag_p99 = percentile(lags, 0.99)

    def met(ok: bool) -> str:
        return "met" if ok else "**missed**"

    lines = [
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {hardware()}; revision "
        f"{run(['git', 'rev-parse', '--short', 'HEAD']).strip()}.",
        "",
        "`.venv/bin/python bench/flash_sale.py "
        f"--buyers {args.buyers} --poll-seconds {args.poll_seconds:g} --rate {args.rate:g} "
        f"--seconds {args.seconds:g} --workers {args.workers} --write`: {args.buyers:,} buyers "
        f"polling verify every {args.poll_seconds:g} s ({args.buyers / args.poll_seconds:.0f} "
        f"requests a second over {args.poll_connections} connections), {args.rate:g} "
        f"settlements a second ({args.notify_connections} connections), {args.workers} worker "
        f"processes, for {load_seconds:.0f} s; the web as the Procfile runs it.",
        "",
        "| | requests | errors | p50 (ms) | p99 (ms) | p99 sent → answered (ms) | target |",
        "| --- | --- | --- | --- | --- | --- | --- |",
        f"| verify | {sum(polls.statuses.values()):,} | {poll_errors} | "
        f"{1000 * statistics.median(polls.latencies or [0]):.0f} | {verify_p99:.0f} | "
        f"{1000 * percentile(polls.service, 0.99):.0f} | p99 < 100 ms: "
        f"{met(verify_p99 < TARGETS['verify_p99_ms'] and poll_errors == 0)} |",
        f"| notification | {sum(settles.statuses.values()):,} | {notify_errors} | "
        f"{1000 * statistics.median(settles.latencies or [0]):.0f} | "
        f"{1000 * percentile(settles.latencies, 0.99):.0f} | "
        f"{1000 * percentile(settles.service, 0.99):.0f} | "
        f"zero errors: {met(notify_errors == 0)} |",
        "",
        f"Webhooks: {len(settled):,} payments settled, {len(first_arrival):,} delivered "
        f"({missing} missing after {drained:.0f} s more), "
        f"{sum(len(v) for v in ids.values()) - len(ids)} with a second webhook-id, "
        f"{len(arrived) - len(first_arrival):,} deliveries beyond the first. Lag from the "
        f"notification's 200 to the receiver: p50 {statistics.median(lags or [0]):.2f} s, "
        f"p99 {lag_p99:.2f} s, max {max(lags or [0]):.2f} s (target p99 < 10 s: "
        f"{met(lag_p99 < TARGETS['lag_p99_s'] and missing == 0)}).",
        "",
        "| process | CPU over the load (cores) | peak memory, PSS (MB) |",
        "| --- | --- | --- |",
        *(f"| {kind} | {cpu:.2f} | {rss:.0f} |" for kind, (cpu, rss) in usage.items()),
        f"| the whole machine (busy, of {os.cpu_count()}) | {meter.busy_cores:.2f} | |",
    ]
    print("\n".join(lines))
    print(f"workdir: {workdir}")
    if args.write:
        write_block("flash-sale", lines, "## The flash sale, whole")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
