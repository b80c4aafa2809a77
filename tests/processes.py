"""Lunas's own processes and servers, started by tests that need them for real: a
redis-server of its own on a spare port (to kill, pause and start again), `flask worker`
processes, and what every such test needs (a free port, a wait with a deadline, a log's tail).
Each process runs in its own process group, so a kill takes its children too."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import redis

REPO = Path(__file__).resolve().parents[1]
FLASK = Path(sys.executable).with_name("flask")  # <venv>/bin/flask, beside this interpreter
REDIS_SERVER = shutil.which("redis-server")
# What a subprocess takes over from the test's own environment (the rest is given).
INHERITED = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")
MIDTRANS_SETTINGS = (
    "MIDTRANS_SANDBOX_SERVER_KEY",
    "MIDTRANS_PRODUCTION_SERVER_KEY",
    "MIDTRANS_SANDBOX_SNAP_BASE",
    "MIDTRANS_SANDBOX_API_BASE",
    "MIDTRANS_PRODUCTION_SNAP_BASE",
    "MIDTRANS_PRODUCTION_API_BASE",
)


def process_env(app, environ: dict[str, str]) -> dict[str, str]:
    """A subprocess's environment: the test app's settings (`environ`), with Midtrans as the
    app has it now (the fake_midtrans fixture points the app at its fake after start)."""
    env = {name: os.environ[name] for name in INHERITED if name in os.environ}
    env.update(environ)
    for name in MIDTRANS_SETTINGS:
        env[name] = str(app.config[name])
    env["PYTHONUNBUFFERED"] = "1"
    return env


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(check: Callable[[], object], timeout: float, describe: Callable[[], str]):
    """Poll `check` until it returns something truthy; AssertionError after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise AssertionError(f"not within {timeout} s: {describe()}")
        time.sleep(0.1)


def tail(path: Path, limit: int = 6000) -> str:
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return "(no log)"
    return text if len(text) <= limit else "…" + text[-limit:]


class RedisServer:
    """A redis-server of our own on a spare port, which a test may kill and start again."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.workdir = workdir
        self.proc: subprocess.Popen | None = None
        self.logs: list[Path] = []

    def start(self) -> None:
        assert not self.running(), "redis-server is already running"
        log = self.workdir / f"redis-{len(self.logs) + 1}.log"
        self.logs.append(log)
        with log.open("wb") as out:
            self.proc = subprocess.Popen(
                [
                    REDIS_SERVER,
                    "--port",
                    str(self.port),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--daemonize",
                    "no",
                    "--dir",
                    str(self.workdir),
                ],  # fmt: skip
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        wait_until(self._answers, 10, lambda: f"redis-server on {self.port}\n{self.log_text()}")

    def _answers(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"redis-server exited at start:\n{self.log_text()}")
        try:
            with self.client() as conn:
                return bool(conn.ping())
        except redis.RedisError:
            return False

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL: Redis goes away at once, as in a crash."""
        if self.running():
            self.proc.kill()
        if self.proc is not None:
            self.proc.wait(timeout=10)

    def pause(self) -> None:
        """SIGSTOP: the port still accepts connections, but nothing ever answers."""
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        self.proc.send_signal(signal.SIGCONT)

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, socket_connect_timeout=1, socket_timeout=2)

    def log_text(self) -> str:
        return "\n".join(f"--- {log.name}\n{tail(log, 2000)}" for log in self.logs)


class WorkerProcess:
    """`flask --app wsgi worker` in its own process group (RQ forks its scheduler into it)."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.log = log
        with log.open("wb") as out:
            self.proc = subprocess.Popen(
                [str(FLASK), "--app", "wsgi", "worker"],
                cwd=REPO,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL to the whole group: no clean-up code of the worker runs."""
        with contextlib.suppress(ProcessLookupError):  # the whole group is gone already
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
