"""gunicorn settings for the Procfile's web process (read automatically from the working dir)."""

import multiprocessing
import os

# All interfaces by default (a server behind its load balancer); `make run` sets
# BIND_HOST=127.0.0.1 so a laptop does not offer Lunas to its whole network.
bind = f"{os.environ.get('BIND_HOST', '0.0.0.0')}:{os.environ.get('PORT', '5000')}"  # noqa: S104
# Threads let a request wait on Midtrans (up to 10 s) without blocking its process, and the
# simulator call back into the same server. One process per core and one more (each holds
# the GIL for its Python work; the extra one runs while another waits on a lock or a page
# fault), 8 threads each: as many requests in flight as 2 × cores + 1 processes × 4 threads
# had, with fewer processes fighting over the cores (docs/PERFORMANCE.md, "The web command").
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() + 1))
threads = int(os.environ.get("WEB_THREADS", "8"))
timeout = 30
keepalive = 5
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None


def child_exit(server, worker):
    """A gunicorn worker ended: prometheus-client's multiprocess mode forgets its live gauges
    (its counters stay counted: /metrics adds up every process that ever wrote them)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
