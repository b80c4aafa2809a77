"""Fixed-window counters shared through Redis, counted in memory between round trips.

A route polled by every waiting buyer (verify, every 3 s per open page) cannot afford a Redis
round trip per request: on a 2-core machine that one call costs more CPU than the rest of the
answer. So each process counts a key's hits in memory and adds them to Redis in one batch
every FLUSH_SECONDS, from a thread, reading back every key's total in the same trip.

- A key this process has not counted in the current window is counted in Redis at once,
  before the answer (`hit` calls Redis): that starts the window where every process sees it,
  and tells whether Redis answers at all. Redis away: nothing is kept, the caller lets the
  request through (SPEC §12: a limit never stops the money path), and the next hit asks again.
- Later hits in the window are counted here (exact for this process) and added to Redis
  within FLUSH_SECONDS; the total read back includes every process's flushed hits.
- So a limit can be passed by at most what the other processes counted in the last flush
  interval, never more; a buyer's page (20 polls a minute against 60) never comes near it,
  and a flood is refused here, without a Redis call, once the totals show it over.

Redis keeps the truth: a window starts at its key's first hit and ends with its expiry
(PTTL), as Flask-Limiter's fixed windows do.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref
from dataclasses import dataclass

from redis import Redis

log = logging.getLogger(__name__)

FLUSH_SECONDS = 0.1
CAPACITY = 200_000  # keys counted at once in one process; beyond it, the oldest windows go

# For each key, ARGV carries (hits to add, window ms): INCRBY, start the window on the key's
# first hits, answer the total and the window's remaining milliseconds.
_ADD = """
local answer = {}
for index, key in ipairs(KEYS) do
  local by = tonumber(ARGV[2 * index - 1])
  local window = ARGV[2 * index]
  local count = redis.call('INCRBY', key, by)
  if count == by then redis.call('PEXPIRE', key, window) end
  local left = redis.call('PTTL', key)
  if left < 0 then redis.call('PEXPIRE', key, window); left = tonumber(window) end
  answer[#answer + 1] = count
  answer[#answer + 1] = left
end
return answer
"""


@dataclass
class _Window:
    known: int  # the total Redis last answered, this process's flushed hits included
    pending: int  # hits counted here, not yet added to Redis
    window_ms: int
    ends_at: float  # time.time() when the window ends (from Redis's PTTL)


@dataclass(frozen=True)
class Count:
    count: int  # this hit included
    ends_at: float  # Unix seconds


class SharedCounters:
    """One per app and process (its thread starts with the first counted hit in a process)."""

    def __init__(self, redis: Redis, flush_seconds: float = FLUSH_SECONDS) -> None:
        self._redis = redis
        self._script = redis.register_script(_ADD)
        self._flush_seconds = flush_seconds
        self._lock = threading.Lock()
        self._windows: dict[str, _Window] = {}
        self._pid: int | None = None
        self._stopping = threading.Event()
        self._failing = False

    def hit(self, keys: list[tuple[str, int]]) -> list[Count] | None:
        """Count one hit on each (key, window seconds). None when Redis could not be asked
        about a key new to this process (the caller does not limit then)."""
        self._ensure_flushing()
        now = time.time()
        with self._lock:
            windows = [self._windows.get(key) for key, _ in keys]
            new = [
                (key, seconds)
                for (key, seconds), window in zip(keys, windows, strict=True)
                if window is None or window.ends_at <= now
            ]
        if new:
            try:
                answer = self._script(
                    keys=[key for key, _ in new],
                    args=[value for _, seconds in new for value in (1, seconds * 1000)],
                )
            except Exception:  # noqa: BLE001 — the caller logs and lets the request through
                return None
            now = time.time()
            with self._lock:
                for index, (key, seconds) in enumerate(new):
                    known, ends_at = int(answer[2 * index]), now + int(answer[2 * index + 1]) / 1000
                    window = self._windows.get(key)
                    if window is not None and window.ends_at > now:
                        # Another thread started it meanwhile: keep its pending hits.
                        window.known = max(window.known, known)
                    else:
                        self._windows[key] = _Window(known, 0, seconds * 1000, ends_at)
        counted = {key for key, _ in new}
        counts = []
        with self._lock:
            for key, seconds in keys:
                window = self._windows.get(key)
                if window is None:  # dropped meanwhile (capacity): count it afresh
                    window = self._windows[key] = _Window(0, 0, seconds * 1000, now + seconds)
                if key not in counted:
                    window.pending += 1
                counts.append(Count(window.known + window.pending, window.ends_at))
            if len(self._windows) > CAPACITY:
                self._drop_oldest()
        return counts

    def flush(self) -> None:
        """Add every pending hit to Redis in one round trip and read the totals back."""
        with self._lock:
            batch = [
                (key, window.pending, window.window_ms)
                for key, window in self._windows.items()
                if window.pending
            ]
            now = time.time()
            for key in [k for k, w in self._windows.items() if w.ends_at <= now and not w.pending]:
                del self._windows[key]
        if not batch:
            return
        try:
            answer = self._script(
                keys=[key for key, _, _ in batch],
                args=[value for _, added, ms in batch for value in (added, ms)],
            )
        except Exception as exc:  # noqa: BLE001 — kept for the next flush
            if not self._failing:  # one warning per outage, not ten a second
                log.warning(
                    "rate limit storage unreachable (%s): counts kept here", type(exc).__name__
                )
            self._failing = True
            return
        self._failing = False
        now = time.time()
        with self._lock:
            for index, (key, added, _) in enumerate(batch):
                window = self._windows.get(key)
                if window is None:
                    continue
                window.pending -= added
                window.known = int(answer[2 * index])
                window.ends_at = now + int(answer[2 * index + 1]) / 1000

    def stop(self) -> None:
        self._stopping.set()

    def _ensure_flushing(self) -> None:
        if self._pid == os.getpid() or self._stopping.is_set():
            return
        with self._lock:
            if self._pid == os.getpid():
                return
            self._pid = os.getpid()
            self._windows.clear()  # a forked child starts counting on its own
        threading.Thread(
            target=_flush_forever,
            args=(weakref.ref(self), self._stopping, self._flush_seconds),
            name="lunas-rate-counters",
            daemon=True,
        ).start()

    def _drop_oldest(self) -> None:
        """Over CAPACITY (a flood of distinct keys): ended windows go first, then the tenth
        of the rest that ends soonest, in one sort, so the next thousands of new keys cost
        nothing. A dropped key's next hit asks Redis again, which holds its count."""
        now = time.time()
        for key in [key for key, window in self._windows.items() if window.ends_at <= now]:
            del self._windows[key]
        if len(self._windows) > CAPACITY:
            keep = CAPACITY - CAPACITY // 10
            # Hits not yet added to Redis stay until the next flush has added them.
            by_end = sorted(
                (item for item in self._windows.items() if not item[1].pending),
                key=lambda item: item[1].ends_at,
            )
            for key, _ in by_end[: max(len(self._windows) - keep, 0)]:
                del self._windows[key]


def _flush_forever(counters_ref: weakref.ref, stopping: threading.Event, every: float) -> None:
    """The thread holds only a weak reference: an app nobody uses any more lets it end."""
    while not stopping.wait(every):
        counters = counters_ref()
        if counters is None:
            return
        try:
            counters.flush()
        except Exception:  # a thread that dies would stop every later flush
            log.exception("rate limit counters: flush failed")
        del counters
    counters = counters_ref()
    if counters is not None:
        counters.flush()
