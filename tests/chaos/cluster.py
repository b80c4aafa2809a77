"""The chaos topology's processes: a PostgreSQL cluster of its own (initdb in a temporary
directory, run as the unprivileged `postgres` user when the suite runs as root, since initdb
refuses root), a redis-server of its own, two gunicorn web processes and three `flask worker`
processes, each in its own process group on its `Host`, each killable and startable again."""

from __future__ import annotations

import contextlib
import glob
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import psycopg
import redis
import requests
from rq import Worker as RQWorker

from tests.chaos.network import Host
from tests.processes import FLASK, INHERITED, REDIS_SERVER, REPO, free_port, tail, wait_until

GUNICORN = Path(sys.executable).with_name("gunicorn")


def postgres_bin() -> Path | None:
    """The directory of initdb and postgres (Debian keeps them out of PATH)."""
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(versions[-1]).parent if versions else None


def _as_postgres(argv: list[str]) -> list[str]:
    """initdb and postgres refuse to run as root: as root, run them as `postgres`."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *argv]
    return argv


class Process:
    """One long-running process in its own group; every start writes a new numbered log."""

    def __init__(self, name: str, host: Host, logs: Path) -> None:
        self.name = name
        self.host = host
        self.logs_dir = logs
        self.logs: list[Path] = []
        self.proc: subprocess.Popen | None = None

    def argv(self) -> list[str]:
        raise NotImplementedError

    def env(self) -> dict[str, str] | None:
        return None

    def start(self) -> None:
        assert not self.alive(), f"{self.name} is already running"
        log = self.logs_dir / f"{self.name}-{len(self.logs) + 1}.log"
        self.logs.append(log)
        with log.open("wb") as out:
            self.proc = subprocess.Popen(
                self.host.command(self.argv()),
                cwd=REPO,
                env=self.env(),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_until(self._ready, 60, lambda: f"{self.name} ready\n{self.log_text()}")

    def _ready(self) -> bool:
        if not self.alive():
            raise AssertionError(f"{self.name} exited at start:\n{self.log_text()}")
        return self.ready()

    def ready(self) -> bool:
        return True

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL to the whole group: as a crash or an OOM kill, no clean-up runs."""
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=20)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 10 s."""
        if not self.alive():
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.kill()

    def log_text(self, limit: int = 3000) -> str:
        return "\n".join(f"--- {log.name}\n{tail(log, limit)}" for log in self.logs[-2:])


class Postgres(Process):
    def __init__(self, host: Host, logs: Path) -> None:
        super().__init__("postgresql", host, logs)
        self.port = free_port()
        self.bin = postgres_bin()
        # Outside pytest's private temporary tree, which the `postgres` user cannot enter.
        self.root = Path(tempfile.mkdtemp(prefix="lunas-chaos-pg-"))
        self.data = self.root / "data"
        self.url = f"postgresql+psycopg://postgres@{host.address}:{self.port}/lunas"

    def initialise(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        subprocess.run(
            _as_postgres(
                [str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres"]
                + ["-E", "UTF8", "--locale=C", "--no-sync"]
            ),
            check=True,
            capture_output=True,
            timeout=120,
        )
        with (self.data / "pg_hba.conf").open("a") as hba:  # the other hosts, over the bridge
            hba.write("host all all 0.0.0.0/0 trust\n")
        self.start()
        with psycopg.connect(self.admin_url(), autocommit=True) as conn:
            conn.execute("CREATE DATABASE lunas")

    def admin_url(self) -> str:
        return f"postgresql://postgres@{self.host.address}:{self.port}/postgres"

    def argv(self) -> list[str]:
        return _as_postgres(
            [str(self.bin / "postgres"), "-D", str(self.data), "-p", str(self.port)]
            + ["-c", f"listen_addresses={self.host.address}", "-k", str(self.root)]
            + ["-c", "max_connections=300", "-c", "fsync=off", "-c", "full_page_writes=off"]
        )  # fmt: skip

    def ready(self) -> bool:
        try:
            with psycopg.connect(self.admin_url(), connect_timeout=2) as conn:
                conn.execute("SELECT 1")
            return True
        except psycopg.Error:
            return False

    def remove(self) -> None:
        self.kill()
        shutil.rmtree(self.root, ignore_errors=True)


class Redis(Process):
    def __init__(self, host: Host, logs: Path) -> None:
        super().__init__("redis", host, logs)
        self.port = free_port()
        self.url = f"redis://{host.address}:{self.port}/0"

    def argv(self) -> list[str]:
        return [REDIS_SERVER, "--port", str(self.port), "--bind", self.host.address]  + [
            "--save", "", "--appendonly", "no", "--protected-mode", "no",
            "--dir", str(self.logs_dir),
        ]  # fmt: skip

    def ready(self) -> bool:
        try:
            return bool(redis.Redis.from_url(self.url, socket_timeout=1).ping())
        except redis.RedisError:
            return False


class Lunas(Process):
    """A web or worker process, configured as production is (JSON logs and all), pointed at
    the suite's PostgreSQL, Redis and fake Midtrans."""

    def __init__(self, name: str, host: Host, logs: Path, settings: dict[str, str]) -> None:
        super().__init__(name, host, logs)
        self.settings = settings

    def env(self) -> dict[str, str]:
        env = {name: os.environ[name] for name in INHERITED if name in os.environ}
        env.update(self.settings)
        env["PYTHONUNBUFFERED"] = "1"
        return env


class Web(Lunas):
    def __init__(self, name: str, host: Host, logs: Path, settings: dict[str, str]) -> None:
        super().__init__(name, host, logs, settings)
        self.port = free_port()
        self.url = f"http://{host.address}:{self.port}"

    def env(self) -> dict[str, str]:
        env = super().env()
        env.update(
            BIND_HOST=self.host.address,
            PORT=str(self.port),
            WEB_CONCURRENCY="1",
            WEB_THREADS="8",
            GUNICORN_ACCESS_LOG=str(self.access_log),
        )
        return env

    @property
    def access_log(self) -> Path:
        return self.logs_dir / f"{self.name}-access.log"

    def argv(self) -> list[str]:
        return [str(GUNICORN), "wsgi:app"]

    def ready(self) -> bool:
        try:
            return requests.get(f"{self.url}/healthz", timeout=2).status_code == 200
        except requests.RequestException:
            return False


class Worker(Lunas):
    def argv(self) -> list[str]:
        return [str(FLASK), "--app", "wsgi", "worker"]

    def ready(self) -> bool:
        """Its RQ workers (one a delivery thread) have registered in Redis."""
        try:
            connection = redis.Redis.from_url(self.settings["REDIS_URL"], socket_timeout=1)
            return any(worker.pid == self.proc.pid for worker in RQWorker.all(connection))
        except redis.RedisError:
            return False


def settings(postgres: Postgres, redis_node: Redis, midtrans_url: str, server_key: str):
    """What every Lunas process of the topology is started with."""
    return {
        "LUNAS_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "LUNAS_DATA_KEY": secrets.token_urlsafe(48),
        "PUBLIC_BASE_URL": "https://pay.lunas.test",
        "DATABASE_URL": postgres.url,
        "REDIS_URL": redis_node.url,
        "LOG_FORMAT": "json",
        "MIDTRANS_SIMULATOR": "0",
        "MIDTRANS_SANDBOX_SERVER_KEY": server_key,
        "MIDTRANS_PRODUCTION_SERVER_KEY": "Mid-server-chaos-production-unused",
        "MIDTRANS_SANDBOX_SNAP_BASE": f"{midtrans_url}/snap",
        "MIDTRANS_SANDBOX_API_BASE": midtrans_url,
        "MIDTRANS_PRODUCTION_SNAP_BASE": f"{midtrans_url}/snap",
        "MIDTRANS_PRODUCTION_API_BASE": midtrans_url,
        # The merchant's endpoint is on the harness's private address.
        "WEBHOOK_ALLOW_PRIVATE_TARGETS": "1",
        "WEBHOOK_REQUIRE_HTTPS": "0",
        "WEBHOOK_TIMEOUT_SECONDS": "5",
        "WEBHOOK_WORKER_THREADS": "4",
        # One merchant takes the whole load: a share of 8 of the 12 delivery threads.
        "WEBHOOK_MAX_IN_FLIGHT_PER_ENDPOINT": "8",
        "WEBHOOK_SWEEP_INTERVAL_SECONDS": "2",
        # The load is one merchant's sandbox key, far above its everyday limit.
        "RATE_LIMIT_API_SANDBOX": "off",
        "RATE_LIMIT_VERIFY": "off",
        "RATE_LIMIT_VERIFY_ADDRESS": "off",
    }
