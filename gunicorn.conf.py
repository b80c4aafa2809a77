"""gunicorn settings for the Procfile's web process (read automatically from the working dir)."""

import multiprocessing
import os

# All interfaces by default (a server behind its load balancer); `make run` sets
# BIND_HOST=127.0.0.1 so a laptop does not offer Lunas to its whole network.
bind = f"{os.environ.get('BIND_HOST', '0.0.0.0')}:{os.environ.get('PORT', '5000')}"  # noqa: S104
# Threads let a request wait on Midtrans (up to 10 s) without blocking its process, and the
# simulator call back into the same server.
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
threads = int(os.environ.get("WEB_THREADS", "4"))
timeout = 30
keepalive = 5
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
