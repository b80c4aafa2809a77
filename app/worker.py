"""The worker process: an RQ worker, plus maintenance on a timer that needs no Redis."""

from __future__ import annotations

import logging
import os
import threading
import time

from flask import Flask, current_app
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rq import Queue, SimpleWorker, Worker
from rq.timeouts import TimerDeathPenalty

from app import jobs
from app.extensions import db
from app.services.checkout.janitor import expire_stale_checkouts
from app.services.checkout.reconcile import reconcile
from app.services.checkout.unverified import purge_unverified
from app.services.idempotency import purge_expired
from app.services.outbox.queue import sweep
from app.services.payments.refunds import check_pending_refunds
from app.services.reporting.overview import prepare_overviews
from app.task_locks import Task, TaskLocks

log = logging.getLogger(__name__)

QUEUES = ("default",)
# SimpleWorker runs jobs in this process; Worker forks a child per job. SimpleWorker is the
# default because it is several times faster here (docs/PERFORMANCE.md, webhook delivery).
WORKER_CLASSES = {"simple": SimpleWorker, "fork": Worker}


class Maintenance(threading.Thread):
    """Database-driven upkeep on a timer: the webhook sweeper every
    WEBHOOK_SWEEP_INTERVAL_SECONDS, the pending janitor and the pending refund check (and,
    after them, the purge of old unverified notifications) every JANITOR_INTERVAL_SECONDS, and
    the portal overview's closed days stored every DAY_TOTALS_INTERVAL_SECONDS (in a thread of
    its own: a long pass, such as the first after migration 0005 on a busy platform, must
    never hold up the sweeper).

    However many worker processes run, each task runs in one of them at a time: the one that
    holds its advisory lock (app/task_locks.py). The others ask for the lock at every turn, so
    one of them takes the task over within a sweep interval of its runner's death.

    A plain thread, not an RQ scheduled job: it keeps running while Redis is down (RQ's own
    scheduler stops then), so whatever became due meanwhile is enqueued once Redis is back.
    """

    def __init__(self, app: Flask) -> None:
        super().__init__(name="lunas-maintenance", daemon=True)
        self.app = app
        self.sweep_interval = app.config["WEBHOOK_SWEEP_INTERVAL_SECONDS"]
        self.janitor_interval = app.config["JANITOR_INTERVAL_SECONDS"]
        self.totals_interval = app.config["DAY_TOTALS_INTERVAL_SECONDS"]
        with app.app_context():
            self.locks = TaskLocks(db.engine.url)
        self.stopped = threading.Event()
        self.totals_thread = threading.Thread(
            target=self._day_totals_loop, name="lunas-day-totals", daemon=True
        )
        # Its own thread too: a pass spaces its Get Status calls over up to a minute.
        self.reconciler_thread = threading.Thread(
            target=self._reconciler_loop, name="lunas-reconciler", daemon=True
        )

    def run(self) -> None:
        self.totals_thread.start()
        self.reconciler_thread.start()
        next_janitor = 0.0
        while not self.stopped.is_set():
            if self.locks.holds(Task.WEBHOOK_SWEEPER):
                self.sweep()
            if time.monotonic() >= next_janitor and self.locks.holds(Task.JANITOR):
                self.janitor()
                self.purge()
                next_janitor = time.monotonic() + self.janitor_interval
            self.stopped.wait(self.sweep_interval)

    def stop(self, timeout: float = 10.0) -> None:
        """Ask both threads to stop after their current task, wait for them, and give the
        tasks up for another process to take."""
        self.stopped.set()
        for thread in (self, self.totals_thread, self.reconciler_thread):
            if thread.is_alive():
                thread.join(timeout)
        self.locks.release()

    def _day_totals_loop(self) -> None:
        # Asks for the task as often as the sweeper does (a takeover within its interval),
        # runs it at its own interval.
        next_totals = 0.0
        while not self.stopped.is_set():
            if time.monotonic() >= next_totals and self.locks.holds(Task.DAY_TOTALS):
                self.day_totals()
                next_totals = time.monotonic() + self.totals_interval
            self.stopped.wait(min(self.sweep_interval, self.totals_interval))

    def _reconciler_loop(self) -> None:
        while not self.stopped.is_set():
            if self.locks.holds(Task.RECONCILER):
                self.reconcile()
            self.stopped.wait(self.sweep_interval)

    def run_once(self) -> None:
        """Every task once, now, lock or not (`flask worker --burst`, tests): each is safe
        beside a runner's own pass."""
        self.sweep()
        self.janitor()
        self.purge()
        self.day_totals()
        self.reconcile()

    def sweep(self) -> None:
        count = self._run("webhook sweeper", sweep)
        if count:
            log.info("webhook sweeper re-enqueued %d deliveries", count)

    def janitor(self) -> None:
        report = self._run("pending janitor", expire_stale_checkouts)
        if report and (report.checked or report.abandoned_removed):
            log.info("pending janitor: %s", report)

    def reconcile(self) -> None:
        """One reconciler pass (its calls spaced, cut short by a stop), then the pending
        refunds driven on towards their end."""
        report = self._run("reconciler", lambda: reconcile(pause=self.stopped.wait))
        if report and report.checked:
            log.info(
                "reconciler: %d asked, %d corrected, %d failed",
                report.checked,
                report.corrected,
                report.failed,
            )
        ended = self._run("pending refund check", check_pending_refunds)
        if ended:
            log.info("pending refund check: %d refunds ended", ended)

    def purge(self) -> None:
        """Unverified notifications past UNVERIFIED_EVENT_RETENTION_DAYS, and Idempotency-Keys
        past their 24 h, at the janitor's turn."""
        count = self._run("unverified notification purge", purge_unverified)
        if count:
            log.info("deleted %d unverified notification events", count)
        keys = self._run("idempotency key purge", purge_expired)
        if keys:
            log.info("deleted %d expired idempotency keys", keys)

    def day_totals(self) -> None:
        count = self._run("overview day totals", prepare_overviews)
        if count:
            log.info("stored closed days' totals of %d project environments", count)

    def _run(self, task: str, call):
        """One upkeep task in an app context. A failure is logged, never raised: the thread
        goes on, and the task runs again at its next turn."""
        with self.app.app_context():
            try:
                return call()
            except Exception:
                log.exception("%s failed; will try again", task)
                return None


class ThreadWorker(SimpleWorker):
    """A SimpleWorker that runs in a thread beside others in one process: no signal handlers
    (the process's main worker takes SIGTERM and stops the others), a timer rather than SIGALRM
    for a job's timeout, and no command channel (RQ's pubsub thread, a blocking read of up to a
    minute, would hold a stopping process up)."""

    death_penalty_class = TimerDeathPenalty
    stop_event: threading.Event | None = None  # set: stop after the current job
    _stop_flag = False

    # RQ checks this before each dequeue; here it also reads the process's stop event.
    @property
    def _stop_requested(self) -> bool:
        return self._stop_flag or (self.stop_event is not None and self.stop_event.is_set())

    @_stop_requested.setter
    def _stop_requested(self, value: bool) -> None:
        self._stop_flag = value

    def _install_signal_handlers(self) -> None:
        pass

    def subscribe(self) -> None:
        pass

    def unsubscribe(self) -> None:
        pass


# A thread worker's blocking wait for a job lasts worker_ttl - 15 seconds: with 20, it sees a
# stop request within 5 s, and heartbeats that often.
THREAD_WORKER_TTL = 20


def run_worker(
    burst: bool = False, worker_class: str = "simple", threads: int | None = None
) -> None:
    """The worker process: maintenance on its timer, and RQ workers taking jobs. With the
    simple class, `threads` (WEBHOOK_WORKER_THREADS) of them: this thread's and the rest in
    threads of their own, so that deliveries overlap their waits on the database and on the
    merchants, and a slow merchant holds one thread, not the process. The fork class runs one."""
    app = current_app._get_current_object()
    jobs.use_app(app)
    worker_cls = WORKER_CLASSES[worker_class]
    if worker_cls is Worker:
        # A forked job must not reuse the parent's database connections.
        engine = db.engine
        os.register_at_fork(after_in_child=lambda: engine.dispose(close=False))
        threads = 1
    elif threads is None:
        threads = app.config["WEBHOOK_WORKER_THREADS"]
    maintenance = Maintenance(app)
    if burst:
        maintenance.run_once()
    else:
        maintenance.start()
    # RQ gets a Redis client of its own: it raises the socket timeout for its long blocking
    # dequeue, which must not slow the sweeper's and the web's short enqueues.
    connection = Redis.from_url(app.config["REDIS_URL"], socket_connect_timeout=5)
    stop = threading.Event()
    helpers = [
        threading.Thread(
            target=_work,
            args=(ThreadWorker, connection, burst, stop),
            kwargs={"worker_ttl": THREAD_WORKER_TTL},
            name=f"lunas-delivery-{number}",
            daemon=True,
        )
        for number in range(1, threads)
    ]
    for helper in helpers:
        helper.start()
    try:
        _work(worker_cls, connection, burst, stop, with_scheduler=not burst)
    finally:
        stop.set()
        # Each finishes the job it holds (a delivery ends within twice its timeout) and stops.
        patience = THREAD_WORKER_TTL + 2 * app.config["WEBHOOK_TIMEOUT_SECONDS"] + 5
        for helper in helpers:
            helper.join(patience)
        maintenance.stop()


def _work(
    worker_cls: type[SimpleWorker],
    connection: Redis,
    burst: bool,
    stop: threading.Event,
    with_scheduler: bool = False,
    worker_ttl: int | None = None,
) -> None:
    """One RQ worker's loop, started again after a Redis outage, until it is asked to stop
    (SIGTERM for the main one, `stop` for the threads) or, in burst mode, runs out of jobs."""
    backoff = 1.0
    while not stop.is_set():
        try:
            # RQ's constructor talks to Redis already (CLIENT SETNAME): inside the retry.
            worker = worker_cls(
                [Queue(name, connection=connection) for name in QUEUES],
                connection=connection,
                **({"worker_ttl": worker_ttl} if worker_ttl else {}),
            )
            # Come back within seconds of a Redis outage, not RQ's default minute.
            worker.max_connection_wait_time = 10.0
            if isinstance(worker, ThreadWorker):
                worker.stop_event = stop
            # RQ's own lines per job (taken, done, result kept) at INFO would be three for
            # each of our one ("webhook … attempt …"): its warnings and errors still show.
            worker.work(burst=burst, with_scheduler=with_scheduler, logging_level="WARNING")
        except (RedisConnectionError, RedisTimeoutError) as exc:
            if burst:
                raise
            log.warning("Redis unavailable (%s); retrying in %.0f s", exc, backoff)
            stop.wait(backoff)
            backoff = min(backoff * 2, 10.0)
            continue
        if burst or worker._shutdown_requested_date is not None or worker._stop_requested:
            return  # a finished burst, or SIGTERM/SIGINT (RQ records when it was asked)
        # RQ can also leave its loop after a Redis error during clean-up: keep working.
        log.warning("RQ work loop ended without a stop request; starting it again")
