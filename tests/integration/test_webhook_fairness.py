"""One tenant cannot stall every tenant's webhooks: test events are limited and sent once, one
endpoint gets at most its share of the workers (attempts in flight, counted in the database
across worker processes), an endpoint that keeps timing out is paused by its circuit breaker
(held deliveries are kept, not failed, and go out after the cool-down), and the SSRF guard tells
tenants no address.

The tenants' endpoints are local receivers (tests/receiver.py): a silent one answers long after
WEBHOOK_TIMEOUT_SECONDS, a prompt one at once."""

from __future__ import annotations

import logging
import socket
import threading
import time
from datetime import timedelta

import pytest
from rq import Queue
from rq.job import Job
from rq.registry import ScheduledJobRegistry
from sqlalchemy import update

from app.clock import format_wib
from app.extensions import db
from app.models import DeliveryStatus, Environment, WebhookDelivery, WebhookEndpoint
from app.models.base import utcnow
from app.services.outbox.circuit import FAILURES_TO_OPEN
from app.services.outbox.endpoints import endpoint_for
from app.services.outbox.queue import SWEEP_BATCH, SWEEP_GRACE, sweep
from app.services.outbox.test_event_limit import MAX_PER_WINDOW
from tests.helpers import MERCHANT_URL, ProjectKeys, create_payment, text_of
from tests.portal_client import post_with_token
from tests.receiver import MerchantReceiver, Reply
from tests.webhook_flow import (
    attempt_delivery,
    attempt_rows,
    delivery_row,
    delivery_rows,
    make_due,
    point_webhooks_at,
    settle,
)

TIMEOUT = 2  # WEBHOOK_TIMEOUT_SECONDS for this module (production: 15)
SILENT = Reply(200, delay=30)  # answers long after any timeout here: "never"
PROMPT = Reply(200)


@pytest.fixture
def app_environ(app_environ) -> dict[str, str]:
    app_environ["WEBHOOK_TIMEOUT_SECONDS"] = str(TIMEOUT)
    return app_environ


@pytest.fixture
def silent() -> MerchantReceiver:
    with MerchantReceiver(default=SILENT) as receiver:
        yield receiver


@pytest.fixture
def prompt() -> MerchantReceiver:
    with MerchantReceiver(default=PROMPT) as receiver:
        yield receiver


# -- helpers -----------------------------------------------------------------------------------


def page_url(project_id: str, path: str = "webhooks", env: str = "sandbox") -> str:
    return f"/projects/{project_id}/{path}?env={env}"


def click_send_test_event(client, project_id: str, env: str = "sandbox"):
    return post_with_token(client, page_url(project_id, "webhooks/test", env))


def flashed(client, response) -> str:
    return text_of(client.get(response.headers["Location"]))


def purchases(app, client, fake, keys: ProjectKeys, count: int, first: int = 0) -> list[str]:
    """`count` payments of `keys`'s project settle: their item.purchased ids, oldest first."""
    for n in range(first, first + count):
        settle(client, fake, create_payment(client, keys, order_id=f"order-{n}"))
    rows = [row for row in delivery_rows(app) if row["project_id"] == keys.project_id]
    return [row["id"] for row in rows][first:]


def hold_leases(app, delivery_ids: list[str], seconds: float = 30) -> None:
    """These deliveries are being attempted by other workers right now (as a claim leaves
    them: delivering, under a live lease)."""
    with app.app_context():
        db.session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id.in_(delivery_ids))
            .values(
                status=DeliveryStatus.DELIVERING,
                attempt_count=WebhookDelivery.attempt_count + 1,
                leased_until=utcnow() + timedelta(seconds=seconds),
            )
        )
        db.session.commit()


def release_leases(app, delivery_ids: list[str]) -> None:
    """Those other workers' attempts end (delivered)."""
    with app.app_context():
        db.session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id.in_(delivery_ids))
            .values(status=DeliveryStatus.DELIVERED, leased_until=None, finished_at=utcnow())
        )
        db.session.commit()


def endpoint_state(app, keys: ProjectKeys, env: Environment = Environment.SANDBOX) -> dict:
    with app.app_context():
        endpoint = endpoint_for(keys.project_id, env)
        return {
            "consecutive_failures": endpoint.consecutive_failures,
            "failure_kind": endpoint.failure_kind,
            "circuit_open_until": endpoint.circuit_open_until,
        }


def scheduled_deliveries(redis_conn) -> list[str]:
    """The deliveries RQ holds jobs for, to be enqueued later (enqueue_in)."""
    registry = ScheduledJobRegistry(queue=Queue("default", connection=redis_conn))
    return [Job.fetch(job_id, connection=redis_conn).args[0] for job_id in registry.get_job_ids()]


def time_out(app, delivery_ids: list[str]) -> None:
    """Each delivery gets one attempt at an endpoint that does not answer in time."""
    for delivery_id in delivery_ids:
        assert attempt_delivery(app, delivery_id) == "pending"


def open_the_circuit(app, delivery_ids: list[str]) -> None:
    assert len(delivery_ids) == FAILURES_TO_OPEN
    time_out(app, delivery_ids)


def swept(app) -> int:
    with app.app_context():
        return sweep()


def at_minute_start(clock) -> None:
    """Python's clock to the start of a minute, so a test's clicks share one window."""
    now = utcnow()
    clock.move_to(now.replace(second=1, microsecond=0) + timedelta(minutes=1))


# -- the finding -------------------------------------------------------------------------------


def test_test_events_at_a_silent_endpoint_do_not_hold_up_another_tenants_purchase(
    app, client, mine, strangers, fake_midtrans, silent, prompt, run_workers
):
    """Several "send test event" clicks at an endpoint that never answers, then another
    merchant's payment settles; three workers share the queue. Before, the clicks took every
    worker for WEBHOOK_TIMEOUT_SECONDS (two rounds of it for five clicks), and the purchase
    waited behind them."""
    point_webhooks_at(app, mine, silent.url)
    point_webhooks_at(app, strangers, prompt.url)

    clicks = [click_send_test_event(client, mine.project_id) for _ in range(MAX_PER_WINDOW + 2)]
    settle(client, fake_midtrans, create_payment(client, strangers))
    started, workers_started = time.time(), utcnow()
    run_workers(3)

    # The merchant's clicks past the limit were refused: nothing was created for them.
    tests = [row for row in delivery_rows(app) if row["event_type"] == "test.ping"]
    assert len(tests) == MAX_PER_WINDOW
    assert all(response.status_code == 303 for response in clicks)
    assert "Too many test events" in flashed(client, clicks[-1])
    # The other tenant's item.purchased went out before even one silent attempt could end.
    [received] = prompt.wait_for(1, timeout=1)
    assert received.at - started < TIMEOUT
    [purchase] = [row for row in delivery_rows(app) if row["project_id"] == strangers.project_id]
    assert purchase["status"] == "delivered"
    # The silent endpoint had its share, two attempts at once, each made once and failed…
    attempted = [row for row in tests if attempt_rows(app, row["id"])]
    assert len(silent.received) == 2
    assert len(attempted) == 2
    for row in attempted:
        row = delivery_row(app, row["id"])
        assert row["status"] == "failed"
        assert row["last_error"] == (
            f"timed out after {TIMEOUT} s (a test event is sent once, never retried)"
        )
    # …and the others were deferred, not attempted: pending, no attempt made or counted.
    deferred = [delivery_row(app, row["id"]) for row in tests if row not in attempted]
    assert [row["status"] for row in deferred] == ["pending"] * (MAX_PER_WINDOW - 2)
    assert [row["attempt_count"] for row in deferred] == [0] * (MAX_PER_WINDOW - 2)
    # Deferred to a moment after the workers found them (not left due where they were), however
    # long this machine took to get here.
    assert all(row["next_attempt_at"] > workers_started for row in deferred)


# -- the test-event limit ----------------------------------------------------------------------


def test_over_the_limit_a_test_event_is_refused_with_a_message_and_nothing_is_created(
    app, client, mine, redis_conn, clock
):
    point_webhooks_at(app, mine, MERCHANT_URL)
    at_minute_start(clock)
    for _ in range(MAX_PER_WINDOW):
        assert click_send_test_event(client, mine.project_id).status_code == 303

    refused = click_send_test_event(client, mine.project_id)

    assert refused.status_code == 303
    assert refused.headers["Location"] == page_url(mine.project_id)
    page = flashed(client, refused)
    assert f"Too many test events: at most {MAX_PER_WINDOW} a minute for this environment." in page
    assert "Nothing was sent; try again in" in page
    assert len(delivery_rows(app)) == MAX_PER_WINDOW
    assert Queue("default", connection=redis_conn).count == MAX_PER_WINDOW


def test_the_limit_counts_per_environment_and_starts_afresh_each_minute(
    app, client, mine, redis_conn, clock
):
    point_webhooks_at(app, mine, MERCHANT_URL)
    point_webhooks_at(app, mine, MERCHANT_URL, Environment.PRODUCTION)
    at_minute_start(clock)
    for _ in range(MAX_PER_WINDOW):
        click_send_test_event(client, mine.project_id)

    production = click_send_test_event(client, mine.project_id, "production")
    refused = click_send_test_event(client, mine.project_id)
    clock.shift(timedelta(seconds=60))
    next_minute = click_send_test_event(client, mine.project_id)

    assert "/deliveries/evt_" in production.headers["Location"]
    assert refused.headers["Location"] == page_url(mine.project_id)
    assert "/deliveries/evt_" in next_minute.headers["Location"]
    environments = [row["environment"] for row in delivery_rows(app)]
    assert environments.count("sandbox") == MAX_PER_WINDOW + 1
    assert environments.count("production") == 1


def test_with_redis_down_test_events_are_allowed_and_a_warning_is_logged(app, client, mine, caplog):
    point_webhooks_at(app, mine, MERCHANT_URL)
    with socket.socket() as probe:  # a port nobody listens on: Redis is gone
        probe.bind(("127.0.0.1", 0))
        app.config["REDIS_URL"] = f"redis://127.0.0.1:{probe.getsockname()[1]}/0"
    stale = app.extensions.pop("lunas_redis", None)
    if stale is not None:
        stale.close()

    with caplog.at_level(logging.WARNING):
        responses = [click_send_test_event(client, mine.project_id) for _ in range(6)]

    assert all("/deliveries/evt_" in r.headers["Location"] for r in responses)
    assert len(delivery_rows(app)) == 6  # in the database: the sweeper sends them
    assert "test event limit unavailable (Redis); allowing the test event" in caplog.text


# -- a test event is sent once -----------------------------------------------------------------


def test_a_test_event_that_fails_is_failed_at_once_and_never_retried(app, client, mine, run_worker):
    with MerchantReceiver(default=Reply(500)) as receiver:
        point_webhooks_at(app, mine, receiver.url)
        response = click_send_test_event(client, mine.project_id)
        run_worker()
        [row] = delivery_rows(app)
        make_due(app, row["id"])  # even due, a test event is not attempted again

        again = attempt_delivery(app, row["id"])

        assert len(receiver.received) == 1
    row = delivery_row(app, row["id"])
    assert again == "skipped"
    assert (row["status"], row["attempt_count"]) == ("failed", 1)
    assert row["last_error"] == "HTTP 500 (a test event is sent once, never retried)"
    page = text_of(client.get(response.headers["Location"]))
    assert "HTTP 500 (a test event is sent once, never retried)" in page


def test_a_test_event_whose_worker_died_mid_attempt_is_failed_not_sent_again(
    app, client, mine, prompt, run_worker, clock
):
    point_webhooks_at(app, mine, prompt.url)
    click_send_test_event(client, mine.project_id)
    [row] = delivery_rows(app)
    hold_leases(app, [row["id"]], seconds=5)  # a worker claimed it, then was killed
    clock.shift(timedelta(seconds=6))  # its lease runs out

    assert swept(app) == 1
    run_worker()

    row = delivery_row(app, row["id"])
    assert prompt.received == []
    assert row["status"] == "failed"
    assert row["last_error"] == (
        "the attempt was interrupted before an answer was recorded; "
        "a test event is sent once, never retried"
    )


# -- attempts in flight per endpoint -----------------------------------------------------------


def test_with_the_endpoints_slots_taken_a_delivery_is_deferred_without_an_attempt(
    app, client, project, strangers, fake_midtrans, prompt, redis_conn, clock
):
    point_webhooks_at(app, project, prompt.url)
    point_webhooks_at(app, strangers, prompt.url.replace("/lunas", "/other"))
    first, second, third = purchases(app, client, fake_midtrans, project, 3)
    [theirs] = purchases(app, client, fake_midtrans, strangers, 1)
    hold_leases(app, [first, second])  # two attempts in flight in other worker processes
    before = utcnow()

    outcome = attempt_delivery(app, third)

    row = delivery_row(app, third)
    assert outcome == "deferred"
    assert prompt.received == []
    assert attempt_rows(app, third) == []
    assert (row["status"], row["attempt_count"], row["last_error"]) == ("pending", 0, None)
    assert before + timedelta(seconds=2) <= row["next_attempt_at"]
    assert row["next_attempt_at"] <= utcnow() + timedelta(seconds=4)
    assert scheduled_deliveries(redis_conn) == [third]  # re-enqueued for then
    # Another tenant's endpoint has its own slots.
    assert attempt_delivery(app, theirs) == "delivered"

    release_leases(app, [first, second])
    clock.move_to(row["next_attempt_at"])
    assert attempt_delivery(app, third) == "delivered"
    [attempt] = attempt_rows(app, third)
    assert attempt["number"] == 1
    assert delivery_row(app, third)["attempt_count"] == 1  # the deferral cost no attempt


def test_a_lease_that_ran_out_holds_no_slot(app, client, project, fake_midtrans, prompt, clock):
    point_webhooks_at(app, project, prompt.url)
    first, second, third = purchases(app, client, fake_midtrans, project, 3)
    hold_leases(app, [first, second], seconds=5)  # their workers died
    clock.shift(timedelta(seconds=6))

    assert attempt_delivery(app, third) == "delivered"


def test_concurrent_claims_for_the_last_slot_send_one_request(app, client, project, fake_midtrans):
    app.config["WEBHOOK_MAX_IN_FLIGHT_PER_ENDPOINT"] = 1
    with MerchantReceiver(default=Reply(200, delay=0.5)) as receiver:
        point_webhooks_at(app, project, receiver.url)
        deliveries = purchases(app, client, fake_midtrans, project, 2)
        start = threading.Barrier(2)
        outcomes: list[str] = []

        def job(delivery_id: str) -> None:
            start.wait()
            outcomes.append(attempt_delivery(app, delivery_id))

        threads = [threading.Thread(target=job, args=(d,)) for d in deliveries]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=10)

        assert len(receiver.received) == 1
    assert sorted(outcomes) == ["deferred", "delivered"]


# -- the circuit breaker -----------------------------------------------------------------------


def test_consecutive_timeouts_open_the_circuit_and_the_next_delivery_is_held(
    app, client, project, fake_midtrans, silent
):
    app.config["WEBHOOK_TIMEOUT_SECONDS"] = 1
    point_webhooks_at(app, project, silent.url)
    *failing, held = purchases(app, client, fake_midtrans, project, FAILURES_TO_OPEN + 1)

    time_out(app, failing[:-1])
    assert endpoint_state(app, project)["circuit_open_until"] is None  # not yet: 4 in a row
    before = utcnow()
    time_out(app, failing[-1:])
    circuit = endpoint_state(app, project)
    outcome = attempt_delivery(app, held)

    assert circuit["consecutive_failures"] == FAILURES_TO_OPEN
    assert circuit["failure_kind"] == "timeout"
    assert before + timedelta(seconds=60) <= circuit["circuit_open_until"]
    assert circuit["circuit_open_until"] <= utcnow() + timedelta(seconds=60)
    assert outcome == "deferred"
    assert len(silent.received) == FAILURES_TO_OPEN
    row = delivery_row(app, held)
    assert (row["status"], row["attempt_count"]) == ("pending", 0)
    assert attempt_rows(app, held) == []
    assert row["next_attempt_at"] >= circuit["circuit_open_until"]
    # The retries of the failed ones are held too, when their time comes, without an attempt.
    make_due(app, failing[0])
    assert attempt_delivery(app, failing[0]) == "deferred"
    assert delivery_row(app, failing[0])["attempt_count"] == 1


def test_failed_connections_count_like_timeouts_and_an_answer_resets_the_count(
    app, client, project, fake_midtrans
):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        nobody = f"http://127.0.0.1:{probe.getsockname()[1]}/hooks"
    point_webhooks_at(app, project, nobody)
    deliveries = purchases(app, client, fake_midtrans, project, 3)

    for delivery_id in deliveries[:2]:
        attempt_delivery(app, delivery_id)
    assert endpoint_state(app, project)["consecutive_failures"] == 2
    assert endpoint_state(app, project)["failure_kind"] == "connection"

    with MerchantReceiver(default=Reply(500)) as receiver:
        with app.app_context():  # something answers there now (an error, but in time)
            db.session.execute(
                update(WebhookEndpoint)
                .where(WebhookEndpoint.project_id == project.project_id)
                .values(url=receiver.url)
            )
            db.session.commit()
        assert attempt_delivery(app, deliveries[2]) == "pending"

    assert endpoint_state(app, project) == {
        "consecutive_failures": 0,
        "failure_kind": None,
        "circuit_open_until": None,
    }


def test_after_the_cool_down_one_probe_goes_and_its_answer_closes_the_circuit(
    app, client, project, fake_midtrans, silent, clock
):
    app.config["WEBHOOK_TIMEOUT_SECONDS"] = 1
    point_webhooks_at(app, project, silent.url)
    deliveries = purchases(app, client, fake_midtrans, project, FAILURES_TO_OPEN + 2)
    *failing, probe, other = deliveries
    open_the_circuit(app, failing)
    assert attempt_delivery(app, probe) == "deferred"
    assert attempt_delivery(app, other) == "deferred"

    silent.default = PROMPT  # the merchant's endpoint recovers
    open_until = endpoint_state(app, project)["circuit_open_until"]
    clock.move_to(open_until + timedelta(seconds=3))  # every held delivery is due again
    hold_leases(app, [probe], seconds=2)  # half-open: while the probe is in flight…
    assert attempt_delivery(app, other) == "deferred"  # …nothing else goes
    with app.app_context():
        db.session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id == probe)
            .values(status=DeliveryStatus.PENDING, attempt_count=0, leased_until=None)
        )
        db.session.commit()

    assert attempt_delivery(app, probe) == "delivered"

    assert endpoint_state(app, project) == {
        "consecutive_failures": 0,
        "failure_kind": None,
        "circuit_open_until": None,
    }
    clock.move_to(delivery_row(app, other)["next_attempt_at"])
    rest = [other, *failing]
    assert [attempt_delivery(app, d) for d in rest] == ["delivered"] * len(rest)
    # Nothing was lost, and holding cost no attempt: one each, plus the first failures.
    counts = [delivery_row(app, d)["attempt_count"] for d in deliveries]
    assert counts == [2] * len(failing) + [1, 1]


def test_a_probe_that_times_out_opens_the_circuit_again_for_longer(
    app, client, project, fake_midtrans, silent, clock
):
    app.config["WEBHOOK_TIMEOUT_SECONDS"] = 1
    point_webhooks_at(app, project, silent.url)
    *failing, probe = purchases(app, client, fake_midtrans, project, FAILURES_TO_OPEN + 1)
    open_the_circuit(app, failing)
    clock.move_to(endpoint_state(app, project)["circuit_open_until"] + timedelta(seconds=1))
    make_due(app, probe)
    before = utcnow()

    assert attempt_delivery(app, probe) == "pending"

    circuit = endpoint_state(app, project)
    assert circuit["consecutive_failures"] == FAILURES_TO_OPEN + 1
    assert before + timedelta(seconds=120) <= circuit["circuit_open_until"]
    assert circuit["circuit_open_until"] <= utcnow() + timedelta(seconds=120)


def test_held_deliveries_are_swept_back_after_the_cool_down_and_delivered(
    app, client, project, fake_midtrans, silent, run_worker, clock
):
    """No RQ scheduler runs here: the delayed re-enqueue of a deferred delivery never fires,
    as when Redis lost it. The sweeper finds it in the database."""
    app.config["WEBHOOK_TIMEOUT_SECONDS"] = 1
    point_webhooks_at(app, project, silent.url)
    failing = purchases(app, client, fake_midtrans, project, FAILURES_TO_OPEN)
    open_the_circuit(app, failing)
    [held] = purchases(app, client, fake_midtrans, project, 1, first=FAILURES_TO_OPEN)
    run_worker()  # the settlement's job: deferred to the circuit's end
    assert delivery_row(app, held)["attempt_count"] == 0
    silent.default = PROMPT

    due = delivery_row(app, held)["next_attempt_at"]
    clock.move_to(due + SWEEP_GRACE + timedelta(seconds=1))
    assert swept(app) == FAILURES_TO_OPEN + 1  # the held one and the failed ones' retries
    run_worker()

    rows = [delivery_row(app, d) for d in [*failing, held]]
    assert [row["status"] for row in rows] == ["delivered"] * (FAILURES_TO_OPEN + 1)
    assert delivery_row(app, held)["attempt_count"] == 1


# -- what the merchant sees --------------------------------------------------------------------


def test_the_portal_shows_an_open_circuit_and_that_deliveries_are_held(
    app, client, mine, fake_midtrans, silent, run_worker, clock
):
    app.config["WEBHOOK_TIMEOUT_SECONDS"] = 1
    point_webhooks_at(app, mine, silent.url)
    failing = purchases(app, client, fake_midtrans, mine, FAILURES_TO_OPEN + 1)
    open_the_circuit(app, failing[:-1])
    until = endpoint_state(app, mine)["circuit_open_until"]

    pages = [
        text_of(client.get(page_url(mine.project_id, path)))
        for path in ("webhooks", "deliveries", f"deliveries/{failing[-1]}")
    ]

    expected = (
        f"circuit open until {format_wib(until)} after {FAILURES_TO_OPEN} consecutive "
        "timeouts; deliveries are held, not lost."
    )
    for page in pages:
        assert expected in page
        assert f"{FAILURES_TO_OPEN + 1} events are waiting to be sent." in page
    clock.move_to(until + timedelta(seconds=1))
    later = text_of(client.get(page_url(mine.project_id)))
    assert "circuit open until" not in later
    assert "the next attempt is a probe" in later


def test_the_portal_shows_no_circuit_while_it_is_closed(app, client, mine):
    point_webhooks_at(app, mine, MERCHANT_URL)

    page = text_of(client.get(page_url(mine.project_id)))

    assert "Webhooks paused" not in page and "circuit open until" not in page
    assert "deliveries are held" not in page


def test_the_ssrf_refusal_shown_to_the_merchant_names_no_address(
    app, client, mine, prompt, run_worker
):
    url = prompt.url.replace("127.0.0.1", "localhost")  # a name, resolved only at send time
    point_webhooks_at(app, mine, url)
    app.config["WEBHOOK_ALLOW_PRIVATE_TARGETS"] = False
    response = click_send_test_event(client, mine.project_id)

    run_worker()

    [row] = delivery_rows(app)
    [attempt] = attempt_rows(app, row["id"])
    pages = [
        client.get(response.headers["Location"]).get_data(as_text=True),
        client.get(page_url(mine.project_id, "deliveries")).get_data(as_text=True),
    ]
    assert prompt.received == []
    assert attempt["error"] == "refused: not a public address"
    for page in pages:
        assert "refused: not a public address" in page
        assert "127.0.0.1" not in page and "::1" not in page
    assert endpoint_state(app, mine)["consecutive_failures"] == 0  # the endpoint never failed


def test_behind_a_long_queue_the_sweeper_adds_jobs_only_for_expired_leases(
    app, client, project, fake_midtrans, prompt, redis_conn, clock
):
    # given a due delivery whose job was lost, and one whose worker died under its lease
    point_webhooks_at(app, project, prompt.url)
    lost, died = purchases(app, client, fake_midtrans, project, 2)
    hold_leases(app, [died], seconds=1)
    redis_conn.flushdb()  # both jobs gone
    clock.shift(SWEEP_GRACE + timedelta(seconds=2))
    # and a queue as long as a sweep (a merchant's burst the workers are working through)
    jobs = Queue("default", connection=redis_conn)
    with redis_conn.pipeline() as pipeline:
        for _ in range(SWEEP_BATCH):
            jobs.enqueue("builtins.len", "x", pipeline=pipeline)
        pipeline.execute()

    # then the sweeper re-enqueues the expired lease only…
    assert swept(app) == 1
    assert jobs.count == SWEEP_BATCH + 1
    assert Job.fetch(jobs.job_ids[-1], connection=redis_conn).args == (died,)
    # …and the lost one once the queue is shorter
    jobs.empty()
    assert swept(app) == 2
    assert sorted(Job.fetch(j, connection=redis_conn).args[0] for j in jobs.job_ids) == sorted(
        [lost, died]
    )
