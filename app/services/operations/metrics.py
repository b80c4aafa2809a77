"""`/metrics`: the counters every process keeps (app/metrics.py), added up over the processes
that share PROMETHEUS_MULTIPROC_DIR, and the figures read from the database when the scrape
comes (how many webhook deliveries are due and how long the oldest has waited), with whether
PostgreSQL and Redis answered. A scrape never fails because a part is down: what could not be
read is left out and its `lunas_dependency_up` is 0."""

from __future__ import annotations

import os

from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.exc import SQLAlchemyError

from app.extensions import db
from app.models.base import utcnow
from app.services.operations.health import due_deliveries
from app.services.operations.readiness import POSTGRESQL, REDIS, redis_answers


class _PlatformFigures(Collector):
    """Read at each scrape, not kept by any process: the same from whichever process answers."""

    def collect(self):
        up = GaugeMetricFamily(
            "lunas_dependency_up",
            "1 if the dependency answered this scrape, else 0.",
            labels=["dependency"],
        )
        now = utcnow()
        try:
            count, oldest = due_deliveries(now)
        except SQLAlchemyError:
            db.session.rollback()
            up.add_metric([POSTGRESQL], 0)
        else:
            db.session.rollback()
            up.add_metric([POSTGRESQL], 1)
            yield GaugeMetricFamily(
                "lunas_webhook_deliveries_due",
                "Webhook deliveries due now and not being attempted.",
                value=count,
            )
            age = max((now - oldest.due_since).total_seconds(), 0.0) if oldest else 0.0
            yield GaugeMetricFamily(
                "lunas_webhook_oldest_due_seconds",
                "How long the delivery due the longest has waited (0 when none is due).",
                value=age,
            )
        up.add_metric([REDIS], 1 if redis_answers() else 0)
        yield up


def render() -> bytes:
    """The whole exposition, in Prometheus's text format."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        processes = CollectorRegistry()
        multiprocess.MultiProcessCollector(processes)
    else:
        processes = REGISTRY  # this process alone, with its process_* figures
    platform = CollectorRegistry()
    platform.register(_PlatformFigures())
    return generate_latest(processes) + generate_latest(platform)
