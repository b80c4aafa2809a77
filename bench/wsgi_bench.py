"""The product app plus one bench-only route, `/_bench/bare` (never part of the product code).

Served by the repository's gunicorn.conf.py exactly as the Procfile's web process serves
`wsgi:app`, so the bare route measures what gunicorn + Flask cost before any Lunas work.

BENCH_LOG_LEVEL (bench-only, default: leave the app's INFO) lets the driver measure what the
per-request INFO lines of the notification path cost.
"""

from __future__ import annotations

import logging
import os

from app import create_app

app = create_app()


@app.get("/_bench/bare")
def bench_bare():
    return {}


_level = os.environ.get("BENCH_LOG_LEVEL")
if _level:
    logging.getLogger().setLevel(_level.upper())
