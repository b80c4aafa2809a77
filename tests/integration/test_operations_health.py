"""The platform's health at a glance (app/services/operations/health.py), the operator's view
across every tenant: RQ's worker registry in real Redis, due and failed webhook deliveries,
the last Midtrans notification per environment, and Redis away answered, not raised."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from rq import Queue, SimpleWorker

from app.extensions import db
from app.models import Environment, EventOutcome, PaymentEvent, WebhookDelivery
from app.models.base import utcnow
from app.services.operations import health
from app.services.operations.health import HEARTBEAT_WINDOW, platform_health
from tests.helpers import create_payment, event_rows, notification
from tests.webhook_flow import midtrans_moves, post_notification

# -- helpers ---------------------------------------------------------------------------------


@pytest.fixture
def live_worker(redis_conn) -> Iterator[SimpleWorker]:
    """An RQ worker registered in Redis as a starting worker registers itself (its birth is
    its first heartbeat), and unregistered as a stopping one does."""
    worker = SimpleWorker([Queue("default", connection=redis_conn)], connection=redis_conn)
    worker.register_birth()
    yield worker
    worker.register_death()


@pytest.fixture
def redis_away(app_environ) -> None:
    app_environ["REDIS_URL"] = "redis://127.0.0.1:9/0"  # nothing listens on port 9


def delivery(project_id: str, number: int, status: str, **fields) -> WebhookDelivery:
    values = dict(
        id=f"evt_health_{number}",
        project_id=project_id,
        environment="sandbox",
        event_type="item.purchased",
        body="{}",
        status=status,
    )
    values.update(fields)
    return WebhookDelivery(**values)


# -- workers ---------------------------------------------------------------------------------


def test_a_registered_worker_is_alive_with_its_heartbeat(app, live_worker):
    with app.app_context():
        workers = platform_health().workers

    assert workers.reachable and workers.any_alive is True
    [beat] = workers.beats
    assert (beat.name, beat.pid, beat.hostname) == (
        live_worker.name,
        live_worker.pid,
        live_worker.hostname,
    )
    assert beat.alive and abs(beat.last_heartbeat - utcnow()) < timedelta(seconds=5)


def test_no_registered_worker_is_no_worker_alive(app, redis_conn):
    with app.app_context():
        workers = platform_health().workers

    assert workers.reachable and workers.beats == () and workers.any_alive is False


def test_a_worker_whose_heartbeat_is_older_than_the_window_is_not_alive(app, live_worker, clock):
    clock.shift(HEARTBEAT_WINDOW + timedelta(seconds=30))

    with app.app_context():
        workers = platform_health().workers

    [beat] = workers.beats  # RQ still lists it: its key outlives our clock, not Redis's
    assert not beat.alive and workers.any_alive is False
    assert workers.last_heartbeat == beat.last_heartbeat


def test_an_idle_worker_between_two_heartbeats_is_alive(app, live_worker, clock):
    # RQ's idle worker heartbeats once per blocking dequeue (worker_ttl - 15 s): 6 minutes
    # after the last one it is still alive.
    clock.shift(timedelta(minutes=6))

    with app.app_context():
        assert platform_health().workers.any_alive is True


@pytest.mark.usefixtures("redis_away")
def test_redis_away_makes_the_workers_unknown_and_the_rest_still_answers(app, project):
    with app.app_context():
        db.session.add(delivery(project.project_id, 1, "failed"))
        db.session.commit()

        report = platform_health()  # does not raise

    assert report.workers.reachable is False and report.workers.any_alive is None
    assert "127.0.0.1:9" in report.workers.error  # the driver's words, naming where it tried
    assert report.failed_count == 1 and report.due_count == 0


# -- deliveries ------------------------------------------------------------------------------


def test_the_oldest_due_delivery_and_how_many_are_due(app, project, strangers):
    now = utcnow()
    with app.app_context():
        db.session.add_all(
            [
                # Due: pending and its time has come (a retry is pending too, until its time).
                delivery(project.project_id, 1, "pending", next_attempt_at=now - timedelta(days=2)),
                delivery(
                    strangers.project_id, 2, "pending", next_attempt_at=now - timedelta(days=1)
                ),
                # Due: a worker died holding it (its lease ran out); due since it was claimed.
                delivery(
                    project.project_id,
                    3,
                    "delivering",
                    attempt_count=1,
                    next_attempt_at=now - timedelta(hours=5),
                    leased_until=now - timedelta(minutes=1),
                ),
                # Not due: a retry later, an attempt in flight, done, given up, no URL yet.
                delivery(project.project_id, 4, "pending", next_attempt_at=now + timedelta(days=1)),
                delivery(
                    project.project_id,
                    5,
                    "delivering",
                    next_attempt_at=now - timedelta(days=3),
                    leased_until=now + timedelta(minutes=1),
                ),
                delivery(project.project_id, 6, "delivered"),
                delivery(project.project_id, 7, "failed"),
                delivery(project.project_id, 8, "waiting_for_endpoint"),
            ]
        )
        db.session.commit()

        report = platform_health(now)

    assert report.due_count == 3
    oldest = report.oldest_due
    assert (oldest.delivery_id, oldest.project_id, oldest.environment) == (
        "evt_health_1",
        project.project_id,
        Environment.SANDBOX,
    )
    assert oldest.due_since == now - timedelta(days=2)
    assert report.oldest_due_age == timedelta(days=2)


def test_nothing_due_has_no_oldest(app, project):
    with app.app_context():
        db.session.add(delivery(project.project_id, 1, "delivered"))
        db.session.commit()
        report = platform_health()

    assert (report.due_count, report.oldest_due, report.oldest_due_age) == (0, None, None)


def test_failed_deliveries_of_every_tenant_are_counted_but_test_pings_are_not(
    app, project, strangers
):
    with app.app_context():
        db.session.add_all(
            [
                delivery(project.project_id, 1, "failed", last_error="HTTP 500"),
                delivery(strangers.project_id, 2, "failed", environment="production"),
                delivery(project.project_id, 3, "failed", event_type="test.ping"),
                delivery(project.project_id, 4, "delivered"),
            ]
        )
        db.session.commit()

        assert platform_health().failed_count == 2


# -- notifications ---------------------------------------------------------------------------


def test_the_last_notification_of_each_environment(app, client, project, fake_midtrans):
    with app.app_context():
        before = platform_health()
    assert before.last_notification(Environment.SANDBOX).received_at is None
    assert before.last_notification(Environment.PRODUCTION).received_at is None
    assert before.last_unplaced_notification_at is None

    sandbox = create_payment(client, project)
    production = create_payment(client, project, "production", order_id="order-2")
    midtrans_moves(client, fake_midtrans, production, "settlement")
    midtrans_moves(client, fake_midtrans, sandbox, "settlement")
    # One nobody's: an order Lunas never made.
    post_notification(client, notification("pur_nobody", "settlement", fake_midtrans.server_key))

    events = event_rows(app)  # oldest first
    assert [event["outcome"] for event in events] == ["applied", "applied", "unknown_order"]
    with app.app_context():
        report = platform_health()

    last_sandbox = report.last_notification(Environment.SANDBOX)
    assert last_sandbox.received_at == events[1]["received_at"]
    assert last_sandbox.outcome == EventOutcome.APPLIED
    assert report.last_notification(Environment.PRODUCTION).received_at == events[0]["received_at"]
    assert report.last_unplaced_notification_at == events[2]["received_at"]
    assert [last.environment for last in report.last_notifications] == list(Environment)


def test_a_janitor_check_is_not_a_notification(app, project):
    # The janitor stores its Get Status answers as events of source "janitor": Midtrans did
    # not call, so they must not make the notification URL look alive.
    with app.app_context():
        db.session.add(
            PaymentEvent(source="janitor", raw_body="", headers={}, received_at=utcnow())
        )
        db.session.commit()

        assert health.last_unplaced_notification_at() is None
