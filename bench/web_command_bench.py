"""Which gunicorn setting serves the most on this machine (issue: the web command itself).

    .venv/bin/python bench/web_command_bench.py            # every setting, writes docs/
    .venv/bin/python bench/web_command_bench.py --no-write --settings gthread:3x8,sync:3

For each setting: gunicorn serving bench.wsgi_bench:app with gunicorn.conf.py read as the
Procfile reads it, and the worker class, process and thread counts given on the command line
(`-k`, `-w`, `--threads`, which override the file), one warm-up and then `--repeat` wrk runs on
`/_bench/bare` (32 connections, 2 wrk threads). The Procfile's own command (no overrides) is
measured as one more setting, "as configured". The result is the median run of each setting.

The bare route touches neither PostgreSQL nor Redis, so no database is set up; the environment
is the bench's production-like one with throwaway secrets.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from machine import hardware
from report import write_block

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"

DEFAULT_SETTINGS = (
    "configured,sync:2,sync:3,sync:5,gthread:2x4,gthread:2x8,gthread:2x16,gthread:3x4,"
    "gthread:3x8,gthread:3x16,gthread:4x8,gthread:5x4,gthread:5x8"
)


def parse_setting(text: str) -> tuple[str, list[str]]:
    """'configured' → no overrides; 'sync:3' → -k sync -w 3; 'gthread:3x8' → … --threads 8."""
    if text == "configured":
        return "as configured (Procfile)", []
    kind, _, counts = text.partition(":")
    if kind == "sync":
        return f"sync, {counts} processes", ["-k", "sync", "-w", counts]
    workers, _, threads = counts.partition("x")
    return (
        f"gthread, {workers} processes × {threads} threads",
        ["-k", "gthread", "-w", workers, "--threads", threads],
    )


def environment(port: int) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        LUNAS_ENV="production",
        PORT=str(port),
        BIND_HOST="127.0.0.1",
        DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:5432/test",
        REDIS_URL="redis://127.0.0.1:6379/14",
        SECRET_KEY="bench-web-command-secret-key-not-for-production",  # noqa: S106 (throwaway)
        LUNAS_DATA_KEY="bench-web-command-data-key-not-for-production",
        MIDTRANS_SIMULATOR="0",
        MIDTRANS_SANDBOX_SERVER_KEY="SB-Mid-server-bench",
        PUBLIC_BASE_URL="https://lunas.bench",
    )
    for name in ("WEB_CONCURRENCY", "WEB_THREADS"):
        env.pop(name, None)
    return env


def wait_ready(url: str, process: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} does not answer after {seconds} s")


def wrk(url: str, connections: int, seconds: int) -> dict:
    output = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", url],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 60,
    ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(r"Socket errors: (.*)", output)

    def percentile(label: str) -> float:
        match = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)\s*$", output, re.M)
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    return {
        "rate": rate,
        "p50": percentile("50"),
        "p99": percentile("99"),
        "errors": int(errors.group(1)) if errors else 0,
        "socket_errors": socket_errors.group(1) if socket_errors else "",
    }


def measure(setting: str, args) -> dict:
    label, overrides = parse_setting(setting)
    command = [str(BIN / "gunicorn"), *overrides, "bench.wsgi_bench:app"]
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env=environment(args.port),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{args.port}/_bench/bare"
    try:
        wait_ready(url, process)
        time.sleep(5)  # one worker answers: the others may still be importing the app
        wrk(url, args.connections, 5)
        runs = [wrk(url, args.connections, args.duration) for _ in range(args.repeat)]
    finally:
        os.killpg(process.pid, signal.SIGINT)  # gunicorn's quick shutdown
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)
    runs.sort(key=lambda run: run["rate"])
    middle = runs[(len(runs) - 1) // 2]
    print(f"{label}: {[round(r['rate']) for r in runs]}", file=sys.stderr)
    return {
        "setting": setting,
        "label": label,
        "command": " ".join(["gunicorn", *overrides, "wsgi:app"]),
        "rates": [run["rate"] for run in runs],
        **middle,
    }


def configured_setting() -> str:
    """What gunicorn.conf.py resolves to on this machine, in the bench's own notation."""
    saved = {name: os.environ.pop(name, None) for name in ("WEB_CONCURRENCY", "WEB_THREADS")}
    namespace: dict = {}
    exec(compile((ROOT / "gunicorn.conf.py").read_text(), "gunicorn.conf.py", "exec"), namespace)  # noqa: S102
    for name, value in saved.items():
        if value is not None:
            os.environ[name] = value
    return f"{namespace['worker_class']}: {namespace['workers']} × {namespace.get('threads', 1)}"


def render(results: list[dict], args, started: dt.datetime) -> list[str]:
    best = max(results, key=lambda result: result["rate"])
    configured = next(r for r in results if r["setting"] == "configured")
    lines = [
        f"Measured {started:%Y-%m-%d %H:%M} UTC on {hardware()}; "
        f"`gunicorn.conf.py` resolves to {configured_setting()} here.",
        "",
        f"`.venv/bin/python bench/web_command_bench.py --repeat {args.repeat} "
        f"--duration {args.duration}`: wrk -t2 -c{args.connections} -d{args.duration}s on "
        "`/_bench/bare`, the median of the runs (all runs' rates in the last column).",
        "",
        "| setting | req/s | p50 ms | p99 ms | vs best | non-2xx | runs (req/s) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for result in results:
        rates = ", ".join(f"{rate:.0f}" for rate in result["rates"])
        lines.append(
            f"| {result['label']} | {result['rate']:.0f} | {result['p50']:.1f} | "
            f"{result['p99']:.1f} | {result['rate'] / best['rate']:.0%} | {result['errors']} | "
            f"{rates} |"
        )
    ratio = configured["rate"] / best["rate"]
    verdict = "**met**" if ratio >= 0.9 else "**missed**"
    lines += [
        "",
        f"The Procfile's command: {configured['rate']:.0f} req/s, {ratio:.0%} of the best setting "
        f"({best['label']}, {best['rate']:.0f} req/s); target within 10 %: {verdict}.",
    ]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--settings", default=DEFAULT_SETTINGS)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--duration", type=int, default=8)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--port", type=int, default=18095)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("web_command_bench: wrk is missing (apt-get install -y wrk)")
    started = dt.datetime.now(dt.UTC)
    results = [measure(setting, args) for setting in args.settings.split(",")]
    lines = render(results, args, started)
    print("\n".join(lines))
    print(json.dumps(results), file=sys.stderr)
    if not args.no_write:
        write_block(
            "web-command-bench",
            lines,
            "## The web command: gunicorn's worker class and counts",
        )


if __name__ == "__main__":
    main()
