"""The chaos run: bring the topology up, then for each fault run the load, inject the fault,
end it, stop the load, wait for Lunas to catch up, and check the invariants (tests/chaos/
invariants.py). The schedule says how long: `SHORT` (faults of 10 s, inside `make test`) or
`LONG` (the issue's durations, `make chaos`)."""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from pathlib import Path

from flask_migrate import upgrade

from app import create_app
from app.extensions import db
from tests.chaos import report
from tests.chaos.cluster import Postgres, Redis, Web, Worker, settings
from tests.chaos.invariants import Snapshot, Verdict, caught_up, check
from tests.chaos.load import ChaosMidtrans, Ledger, Load
from tests.chaos.network import Network
from tests.helpers import ProjectKeys, new_project
from tests.receiver import MerchantReceiver, Reply
from tests.webhook_flow import signing_secret

SERVER_KEY = "SB-Mid-server-chaos-suite-key"
GROUPS = ["web", "worker", "postgresql", "redis"]
MERCHANT_SECONDS = 0.05  # how long the merchant's endpoint takes to answer a delivery


@dataclass(frozen=True)
class Schedule:
    name: str
    seconds: dict[str, float]  # each fault's length
    warm: float  # load before the fault begins
    after: float  # load after it ends
    catch_up: float  # how long Lunas may take to catch up, once the load has stopped
    retry_schedule: str  # WEBHOOK_RETRY_SCHEDULE, shortened
    command: str


SHORT = Schedule(
    "short",
    {
        "worker killed": 8,
        "redis down": 10,
        "postgresql down": 10,
        "midtrans 5xx": 10,
        "midtrans hangs": 10,
        "merchant down": 12,
        "web killed": 4,
        "partition": 10,
    },
    warm=3,
    after=3,
    catch_up=90,
    retry_schedule="1,2,3,4,5,5,5,5,5,5",
    command="make test  (tests/chaos/test_chaos.py, CHAOS_SCHEDULE=short)",
)
LONG = Schedule(
    "long",
    {
        "worker killed": 20,
        "redis down": 60,
        "postgresql down": 30,
        "midtrans 5xx": 60,
        "midtrans hangs": 60,
        "merchant down": 300,
        "web killed": 10,
        "partition": 30,
    },
    warm=20,
    after=20,
    catch_up=300,
    retry_schedule="2,5,10,20,30,60,60,60,60,60",
    command="make chaos",
)


class Topology:
    """Two web and three worker processes, PostgreSQL, Redis, the fake Midtrans and the
    merchant's endpoint: everything the faults act on."""

    def __init__(self, schedule: Schedule, logs: Path) -> None:
        self.schedule = schedule
        self.logs = logs
        self.network = Network(GROUPS)
        self.midtrans = ChaosMidtrans(SERVER_KEY)
        self.ledger = Ledger()

    def __enter__(self) -> Topology:
        self._stack = contextlib.ExitStack()
        try:
            self._bring_up()
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self._stack.close()

    def _bring_up(self) -> None:
        stack, hosts = self._stack, self.network.hosts
        self.network.build()
        stack.callback(self.network.tear_down)
        self.midtrans.start(host=self.network.harness)
        stack.callback(self.midtrans.stop)
        self.merchant = MerchantReceiver(
            default=Reply(delay=MERCHANT_SECONDS), host=self.network.harness
        )
        stack.enter_context(self.merchant)

        self.postgres = Postgres(hosts["postgresql"], self.logs)
        stack.callback(self.postgres.remove)
        self.postgres.initialise()
        self.redis = Redis(hosts["redis"], self.logs)
        stack.callback(self.redis.kill)
        self.redis.start()
        self.settings = settings(self.postgres, self.redis, self.midtrans.url, SERVER_KEY)
        self.settings["WEBHOOK_RETRY_SCHEDULE"] = self.schedule.retry_schedule
        self.keys, self.merchant.verify_with = self._merchant_project()

        self.webs = [Web(f"web-{n}", hosts["web"], self.logs, self.settings) for n in (1, 2)]
        self.workers = [
            Worker(f"worker-{n}", hosts["worker"], self.logs, self.settings) for n in (1, 2, 3)
        ]
        for process in [*self.webs, *self.workers]:
            stack.callback(process.kill)
            process.start()
        self.load = Load(self.webs, self.keys, self.midtrans, SERVER_KEY, self.ledger)
        stack.callback(self.load.close)

    def _merchant_project(self) -> tuple[ProjectKeys, str]:
        """Migrate the new cluster (the release step) and make the merchant's project."""
        app = create_app({**self.settings, "LUNAS_ENV": "test", "LOG_FORMAT": "text"})
        with app.app_context():
            upgrade()
            keys = new_project(webhook_url=self.merchant.url)
        secret = signing_secret(app, keys)
        with app.app_context():
            db.engine.dispose()
        return keys, secret

    @property
    def database_url(self) -> str:
        return self.postgres.admin_url().rsplit("/", 1)[0] + "/lunas"

    def lunas_logs(self) -> list[Path]:
        return [log for p in [*self.webs, *self.workers] for log in p.logs]


# -- the faults -----------------------------------------------------------------------------


class Fault:
    name = ""
    what = ""

    def __init__(self, topology: Topology, seconds: float) -> None:
        self.t = topology
        self.seconds = seconds
        self.notes: list[str] = []

    def begin(self) -> None:
        raise NotImplementedError

    def end(self) -> None:
        raise NotImplementedError


class WorkerKilled(Fault):
    name = "worker killed"
    what = "`kill -9` of one worker process's group in the middle of deliveries; started again"

    def begin(self) -> None:
        # The merchant slows down, so that every delivery thread is in the middle of one.
        self.t.merchant.default = Reply(delay=2.0)
        time.sleep(1.5)
        in_flight = Snapshot.delivering(self.t.database_url)
        self.t.workers[0].kill()
        self.t.merchant.default = Reply(delay=MERCHANT_SECONDS)
        self.notes.append(f"{in_flight} deliveries under a lease when the worker died")

    def end(self) -> None:
        self.t.workers[0].start()


class RedisDown(Fault):
    name = "redis down"
    what = "redis-server killed (its queue and counters gone), started again empty"

    def begin(self) -> None:
        self.t.redis.kill()

    def end(self) -> None:
        self.t.redis.start()


class PostgresDown(Fault):
    name = "postgresql down"
    what = "every PostgreSQL process killed (a crash: recovery on restart), started again"

    def begin(self) -> None:
        self.t.postgres.kill()

    def end(self) -> None:
        self.t.postgres.start()


class MidtransErrors(Fault):
    name = "midtrans 5xx"
    what = "Snap create and Get Status answer 503"

    def begin(self) -> None:
        self.t.midtrans.fault = "error"

    def end(self) -> None:
        self.t.midtrans.fault = None


class MidtransHangs(Fault):
    name = "midtrans hangs"
    what = "Snap create and Get Status hold every request until the fault ends"

    def begin(self) -> None:
        self.t.midtrans.fault_ends = time.time() + self.seconds
        self.t.midtrans.fault = "hang"

    def end(self) -> None:
        self.t.midtrans.fault = None


class MerchantDown(Fault):
    name = "merchant down"
    what = "the merchant's webhook endpoint refuses connections, then listens again"

    def begin(self) -> None:
        self.t.merchant.go_down()

    def end(self) -> None:
        self.t.merchant.come_back()


class WebKilled(Fault):
    name = "web killed"
    what = "`kill -9` of one gunicorn (master and worker) with requests in flight; started again"

    def begin(self) -> None:
        self.t.webs[0].kill()

    def end(self) -> None:
        self.t.webs[0].start()


class Partition(Fault):
    name = "partition"
    what = "PostgreSQL's veth link down: web and workers cannot reach it, packets are dropped"

    def begin(self) -> None:
        self.t.network.partition("postgresql")

    def end(self) -> None:
        self.t.network.heal("postgresql")


FAULTS = [
    WorkerKilled,
    RedisDown,
    PostgresDown,
    MidtransErrors,
    MidtransHangs,
    MerchantDown,
    WebKilled,
    Partition,
]


# -- the run --------------------------------------------------------------------------------


@dataclass
class PhaseResult:
    fault: Fault
    load_seconds: float
    caught_up_seconds: float | None
    answers: dict[tuple[str, str], int]
    slowest: dict[str, float]  # kind → the longest wait for one answer
    verdict: Verdict
    new_violations: list[str] = field(default_factory=list)


def run_phase(t: Topology, fault: Fault) -> PhaseResult:
    t.ledger.phase = fault.name
    started = time.monotonic()
    t.load.start()
    time.sleep(t.schedule.warm)
    fault.begin()
    time.sleep(fault.seconds)
    fault.end()
    time.sleep(t.schedule.after)
    t.load.stop()
    load_seconds = time.monotonic() - started

    stopped = time.monotonic()
    deadline = stopped + t.schedule.catch_up
    caught = None
    while time.monotonic() < deadline:
        if t.load.notifications_outstanding() == 0 and caught_up(
            Snapshot.read(t.database_url), t.midtrans, t.merchant
        ):
            caught = time.monotonic() - stopped
            break
        time.sleep(0.5)
    verdict = check(
        Snapshot.read(t.database_url),
        t.ledger,
        t.midtrans,
        t.merchant,
        t.lunas_logs(),
        [web.access_log for web in t.webs],
    )
    if caught is None:
        verdict.fail(f"not caught up {t.schedule.catch_up:.0f} s after the load stopped")
    if isinstance(fault, PostgresDown) and not t.ledger.count("503", fault.name):
        verdict.fail("no 503 was answered while PostgreSQL was away")
    answers = {
        (kind, outcome): n
        for (phase, kind, outcome), n in t.ledger.answers.items()
        if phase == fault.name
    }
    slowest = {kind: s for (phase, kind), s in t.ledger.slowest.items() if phase == fault.name}
    return PhaseResult(fault, load_seconds, caught, answers, slowest, verdict)


def run(schedule: Schedule, logs: Path) -> tuple[list[PhaseResult], str]:
    """Every fault in turn; returns the phases and the report's text."""
    started = time.time()
    with Topology(schedule, logs) as t:
        results: list[PhaseResult] = []
        seen: set[str] = set()
        for fault_class in FAULTS:
            if fault_class is Partition and not t.network.isolated:
                continue
            result = run_phase(t, fault_class(t, schedule.seconds[fault_class.name]))
            result.new_violations = [v for v in result.verdict.violations if v not in seen]
            seen.update(result.verdict.violations)
            results.append(result)
        text = report.render(schedule, t, results, time.time() - started)
    return results, text
