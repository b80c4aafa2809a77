"""One runner per maintenance task, however many worker processes run (SPEC §15).

Each task has a PostgreSQL session-level advisory lock. A worker process asks for the locks
of the tasks it does not run at each of its maintenance turns, on one connection of its own
kept for that alone, and runs a task only while it holds its lock. The lock lives as long as
that connection: when its process dies (kill -9, a machine lost), PostgreSQL ends the session
and drops the lock, and the next process to ask takes the task over at its next turn (every
WEBHOOK_SWEEP_INTERVAL_SECONDS, 15 s by default). The session asks the server to probe a
silent client every few seconds (TCP keepalives), so a runner cut off by the network loses its
locks within about half a minute instead of the kernel's two hours.

The holder checks its connection at each turn before it runs a task; a connection lost (say
PostgreSQL restarted) means every lock on it is lost, and the process asks again like any
other. Two runners of one task can overlap for at most one turn after such a loss; every task
is safe to run twice at once (conditional UPDATEs, unique keys), the lock only saves the work.

SQLite (development, one machine) has no such locks: there every process runs every task, as
before."""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
from enum import IntEnum

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, Connection, Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

log = logging.getLogger(__name__)

# The first half of every Lunas advisory lock's key ("LUNA"); the task is the second half.
LOCK_CLASS = 0x4C554E41
# What PostgreSQL's pg_stat_activity shows for a lock session: the operator sees who runs what.
APPLICATION_NAME = "lunas-maintenance"
# The server probes a silent client after 10 s, then every 5 s, and gives up after 3 probes.
KEEPALIVE_SETTINGS = (
    "SET tcp_keepalives_idle = 10",
    "SET tcp_keepalives_interval = 5",
    "SET tcp_keepalives_count = 3",
)


class Task(IntEnum):
    """The maintenance tasks (app/worker.py's Maintenance), each the second half of its key."""

    WEBHOOK_SWEEPER = 1
    JANITOR = 2  # the pending janitor, the pending refund check and the purges after them
    DAY_TOTALS = 3
    RECONCILER = 4

    @property
    def label(self) -> str:
        return self.name.lower().replace("_", " ")


class TaskLocks:
    """The advisory locks this process holds, on their connection. Thread-safe: the
    maintenance thread and the day-totals thread share it."""

    def __init__(self, database_url: URL) -> None:
        self._engine: Engine | None = None
        if database_url.get_backend_name() == "postgresql":
            identity = f"{socket.gethostname()}:{os.getpid()}"
            self._engine = create_engine(
                database_url,
                poolclass=NullPool,
                connect_args={"application_name": f"{APPLICATION_NAME} {identity}"[:63]},
            )
        self._connection: Connection | None = None
        self._held: set[Task] = set()
        self._mutex = threading.Lock()

    @property
    def shared(self) -> bool:
        """True where the locks mean something (PostgreSQL); False on SQLite."""
        return self._engine is not None

    def holds(self, task: Task) -> bool:
        """Whether this process runs `task` now: it held the lock and its session is still
        alive, or it just took the lock. False while another process holds it, or while
        PostgreSQL does not answer (nobody can run a task then)."""
        if self._engine is None:
            return True
        with self._mutex:
            try:
                connection = self._connect()
                if task in self._held:
                    connection.execute(text("SELECT 1"))  # the session, and its locks, live
                    return True
                taken = connection.execute(
                    text("SELECT pg_try_advisory_lock(:kind, :task)"),
                    {"kind": LOCK_CLASS, "task": int(task)},
                ).scalar()
            except SQLAlchemyError as exc:
                self._lost(exc)
                return False
            if taken:
                self._held.add(task)
                log.info("this process now runs the %s", task.label)
            return bool(taken)

    def held(self) -> frozenset[Task]:
        with self._mutex:
            return frozenset(self._held)

    def release(self) -> None:
        """Give every task up (a clean stop): another process takes them at its next turn."""
        with self._mutex:
            if self._connection is not None:
                with contextlib.suppress(SQLAlchemyError):
                    self._connection.close()  # the session ends: PostgreSQL drops its locks
            self._connection = None
            self._held.clear()
        if self._engine is not None:
            self._engine.dispose()

    def _connect(self) -> Connection:
        if self._connection is None:
            connection = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            for statement in KEEPALIVE_SETTINGS:
                connection.execute(text(statement))
            self._connection = connection
        return self._connection

    def _lost(self, exc: Exception) -> None:
        if self._held:
            names = ", ".join(sorted(task.label for task in self._held))
            log.warning("lost the maintenance locks (%s): %s", names, type(exc).__name__)
        self._held.clear()
        if self._connection is not None:
            with contextlib.suppress(SQLAlchemyError):
                self._connection.invalidate()
                self._connection.close()
        self._connection = None


def runners(connection: Connection) -> dict[Task, str]:
    """Who runs each task now, as PostgreSQL sees it: the task → the lock session's
    application name ("lunas-maintenance host:pid"). For `flask doctor` and the tests."""
    rows = connection.execute(
        text(
            "SELECT l.objid, a.application_name FROM pg_locks l "
            "JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted AND l.classid::bigint = :kind "
            "AND l.objsubid = 2 AND l.database = "
            "(SELECT oid FROM pg_database WHERE datname = current_database())"
        ),
        {"kind": LOCK_CLASS},
    ).all()
    known = {int(task) for task in Task}
    return {Task(int(objid)): name for objid, name in rows if int(objid) in known}
