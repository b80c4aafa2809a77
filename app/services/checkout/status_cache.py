"""Verify's rows from memory, never older than the database was half a second ago.

Thousands of buyers poll verify every few seconds while almost nothing they ask about
changes, so each web process keeps the rows its lookups read (`rows`/`keep`) and answers the
next poll for the same payment without PostgreSQL. What makes that safe is PostgreSQL itself
(migration 0016): a trigger on payments sends `NOTIFY lunas_payments` with the changed row's
purchase_id and order_id in the same transaction as the change, so the notice exists exactly
when the change is committed, never before and never without it; changes to a project's name
or store URL, to a credential, or a TRUNCATE send "*" (forget everything).

Each process listens on its own connection, in a thread (`_listen`), and drops the entries a
notice names. How late can it be? The thread sends itself a ping every PING_SECONDS. PostgreSQL
delivers notices in commit order, so when its own ping sent at time t comes back, every change
committed before t has been applied here. The cache answers only while the last ping that came
back was sent less than MAX_LAG_SECONDS ago; a slow, stopped or disconnected listener
turns the cache off (every lookup reads PostgreSQL) until pings come back again, and a new
connection starts from an empty cache, since notices sent while nobody listened are lost.

A lookup that raced a change cannot keep what it read: `ticket` is taken before the read, and
`keep` refuses rows when a notice naming any of their ids (or "*") arrived after the ticket.

PostgreSQL only: SQLite has no NOTIFY, and there every lookup reads the database."""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Hashable, Iterable, Sequence

import psycopg
from flask import Flask, current_app
from sqlalchemy.engine import make_url

log = logging.getLogger(__name__)

CHANNEL = "lunas_payments"
EVERYTHING = "*"
PING_PREFIX = "ping:"
PING_SECONDS = 0.1
MAX_LAG_SECONDS = 0.5
RECONNECT_SECONDS = 1.0
CAPACITY = 100_000  # entries (a few hundred bytes each): far more payments than wait at once
TOUCHED_LIMIT = 200_000  # ids remembered for `keep`'s race check before starting over


EXTENSION = "lunas_status_cache"


def install(app: Flask) -> None:
    """One cache per app, on PostgreSQL when STATUS_CACHE is on (the default)."""
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if app.config["STATUS_CACHE"] and url.get_backend_name() == "postgresql":
        conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
        app.extensions[EXTENSION] = StatusCache(conninfo)


def status_cache() -> StatusCache | None:
    return current_app.extensions.get(EXTENSION)


class StatusCache:
    """One per app and process; `start` is called lazily by the first lookup in a process
    (gunicorn forks after the app is built, and a thread does not survive a fork)."""

    def __init__(
        self,
        conninfo: str,
        capacity: int = CAPACITY,
        max_lag: float = MAX_LAG_SECONDS,
        ping_seconds: float = PING_SECONDS,
    ) -> None:
        self._conninfo = conninfo
        self._capacity = capacity
        self._max_lag = max_lag
        self._ping_seconds = ping_seconds
        self._lock = threading.Lock()
        self._entries: OrderedDict[Hashable, tuple[Sequence, frozenset[str]]] = OrderedDict()
        self._by_id: dict[str, set[Hashable]] = {}
        self._seq = 0  # notices applied so far
        self._touched: dict[str, int] = {}  # id → seq of the last notice naming it
        self._forgot_at = 0  # seq when everything was last forgotten
        self._fresh_as_of: float | None = None  # monotonic send time of the last ping back
        self._pid: int | None = None
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    # -- lookups --------------------------------------------------------------------------

    def rows(self, key: Hashable) -> Sequence | None:
        """The rows kept for `key`, or None (not kept, or the cache is not fresh)."""
        self._ensure_listening()
        with self._lock:
            if not self._fresh():
                return None
            entry = self._entries.get(key)
            if entry is None:
                return None
            self._entries.move_to_end(key)
            return entry[0]

    def ticket(self) -> int:
        """Taken before reading the database; `keep` needs it."""
        return self._seq

    def keep(self, key: Hashable, rows: Sequence, ids: Iterable[str], ticket: int) -> bool:
        """Keep `rows` (read after `ticket` was taken) unless a notice about any of `ids`
        arrived since, or the cache is not fresh. True when kept."""
        ids = frozenset(ids)
        with self._lock:
            if not self._fresh() or self._forgot_at > ticket:
                return False
            if any(self._touched.get(one, 0) > ticket for one in ids):
                return False
            self._drop(key)
            self._entries[key] = (rows, ids)
            for one in ids:
                self._by_id.setdefault(one, set()).add(key)
            while len(self._entries) > self._capacity:
                self._drop(next(iter(self._entries)))
            return True

    def fresh(self) -> bool:
        with self._lock:
            return self._fresh()

    def __len__(self) -> int:
        return len(self._entries)

    # -- the listener ---------------------------------------------------------------------

    def start(self) -> None:
        self._pid = os.getpid()
        self._stopping.clear()
        self._thread = threading.Thread(
            target=_listen, args=(weakref.ref(self),), name="lunas-status-cache", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        self._stopping.set()
        if self._thread is not None and self._pid == os.getpid():
            self._thread.join(timeout)
        self._thread = None
        with self._lock:
            self._fresh_as_of = None
            self._forget()

    def _ensure_listening(self) -> None:
        if self._pid != os.getpid() and not self._stopping.is_set():
            with self._lock:
                if self._pid == os.getpid():
                    return
                # A forked child inherits the parent's entries but not its listener.
                self._fresh_as_of = None
                self._forget()
                self.start()

    def _fresh(self) -> bool:
        return (
            self._fresh_as_of is not None and time.monotonic() - self._fresh_as_of < self._max_lag
        )

    def _apply(self, payload: str) -> None:
        with self._lock:
            self._seq += 1
            if payload == EVERYTHING:
                self._forget()
                return
            try:
                ids = [one for one in json.loads(payload) if isinstance(one, str)]
            except ValueError:
                log.warning("status cache: unreadable notice %r; forgetting everything", payload)
                self._forget()
                return
            if len(self._touched) >= TOUCHED_LIMIT:
                self._forget()  # every ticket taken before now is refused by `keep`
            for one in ids:
                self._touched[one] = self._seq
                for key in self._by_id.pop(one, ()):
                    self._drop(key)

    def _pinged(self, sent_at: float) -> None:
        with self._lock:
            self._fresh_as_of = sent_at

    def _lost(self) -> None:
        with self._lock:
            self._fresh_as_of = None
            self._forget()

    def _forget(self) -> None:
        self._entries.clear()
        self._by_id.clear()
        self._touched.clear()
        self._forgot_at = self._seq = self._seq + 1

    def _drop(self, key: Hashable) -> None:
        entry = self._entries.pop(key, None)
        if entry is None:
            return
        for one in entry[1]:
            keys = self._by_id.get(one)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del self._by_id[one]


def _listen(cache_ref: weakref.ref) -> None:
    """The thread: holds only a weak reference, so a cache nobody uses any more (an app gone)
    lets its thread end and its connection close."""
    failing = False  # one warning per outage, not one per reconnect attempt
    while True:
        cache = cache_ref()
        if cache is None or cache._stopping.is_set():
            return
        conninfo, stopping = cache._conninfo, cache._stopping
        del cache
        try:
            with psycopg.connect(conninfo, autocommit=True, connect_timeout=3) as connection:
                connection.execute(f"LISTEN {CHANNEL}")
                if failing:
                    log.warning("status cache: listening again")
                    failing = False
                if not _serve(connection, cache_ref):
                    return
        except psycopg.Error as exc:
            if not failing:
                log.warning("status cache: listener lost (%s); verify reads PostgreSQL", exc)
            failing = True
        cache = cache_ref()
        if cache is None:
            return
        cache._lost()
        del cache
        if stopping.wait(RECONNECT_SECONDS):
            return


def _serve(connection: psycopg.Connection, cache_ref: weakref.ref) -> bool:
    """Ping, apply notices, repeat. False when the cache is gone or stopping."""
    cache = cache_ref()
    if cache is None:
        return False
    cache._lost()  # nothing heard while not listening: start empty
    interval, prefix = cache._ping_seconds, f"{PING_PREFIX}{os.getpid()}:{id(cache)}:"
    del cache
    sequence = 0
    while True:
        cache = cache_ref()
        if cache is None or cache._stopping.is_set():
            return False
        sequence += 1
        mine = f"{prefix}{sequence}"
        sent_at = time.monotonic()
        connection.execute("SELECT pg_notify(%s, %s)", (CHANNEL, mine))
        for notice in connection.notifies(timeout=interval):
            if notice.payload == mine:
                cache._pinged(sent_at)
            elif not notice.payload.startswith(PING_PREFIX):
                cache._apply(notice.payload)
        del cache
