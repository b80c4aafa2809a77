"""Delivering item.purchased to a merchant's endpoint: Standard Webhooks headers that
the public library verifies, retries, the attempt log, redirects, 410, Retry-After, resending by
hand, secret rotation, the SSRF guard, the RQ worker, and one delivery at a time."""

from __future__ import annotations

import json
import logging
import socket
import threading
from datetime import timedelta

import pytest
from standardwebhooks import WebhookVerificationError

from app.models.base import utcnow
from tests.helpers import invoke
from tests.receiver import MerchantReceiver, Reply
from tests.webhook_flow import (
    after_the_rotation_grace,
    attempt_delivery,
    attempt_rows,
    delivery_row,
    lower_keys,
    make_due,
    point_webhooks_at,
    purchased_event,
    signing_secret,
    wait_for_retry,
)


def cli(app, *args: str) -> dict:
    result = invoke(app, *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}/hooks/lunas"


@pytest.fixture
def event(app, client, project, fake_midtrans):
    """`event(url)`: settle a payment while webhooks go to `url`; its item.purchased id."""
    return lambda url: purchased_event(app, client, project, fake_midtrans, url)


def attempt_until_done(clock, app, delivery_id: str, limit: int = 10) -> list[str]:
    """Run the job, and each scheduled retry when its time comes, until the delivery stops
    being pending."""
    outcomes = [attempt_delivery(app, delivery_id)]
    while outcomes[-1] == "pending" and len(outcomes) < limit:
        wait_for_retry(clock, app, delivery_id)
        outcomes.append(attempt_delivery(app, delivery_id))
    return outcomes


# -- one signed delivery -----------------------------------------------------------------------


def test_item_purchased_arrives_signed_so_the_merchant_library_accepts_it(app, project, event):
    secret = signing_secret(app, project)
    with MerchantReceiver() as receiver:
        event_id = event(receiver.url)

        outcome = attempt_delivery(app, event_id)

        [received] = receiver.wait_for(1)
    assert outcome == "delivered"
    payload = received.verify(secret)
    assert payload["event"] == "item.purchased"
    assert received.body == delivery_row(app, event_id)["body"].encode()


def test_the_delivery_carries_standard_webhooks_headers(app, project, event):
    with MerchantReceiver() as receiver:
        event_id = event(receiver.url)

        attempt_delivery(app, event_id)

        [received] = receiver.wait_for(1)
    headers = lower_keys(received.headers)
    assert headers["webhook-id"] == event_id
    assert abs(int(headers["webhook-timestamp"]) - received.at) <= 2
    assert headers["webhook-signature"].startswith("v1,")
    assert len(headers["webhook-signature"].split(" ")) == 1
    assert headers["content-type"] == "application/json"
    assert received.path == "/hooks/lunas"


def test_a_delivered_event_is_marked_delivered_and_not_sent_again(app, event):
    with MerchantReceiver() as receiver:
        event_id = event(receiver.url)
        attempt_delivery(app, event_id)

        again = attempt_delivery(app, event_id)

        assert len(receiver.received) == 1
    row = delivery_row(app, event_id)
    assert again == "skipped"
    assert row["status"] == "delivered"
    assert row["attempt_count"] == 1
    assert row["finished_at"] is not None
    assert row["next_attempt_at"] is None
    assert row["last_error"] is None


# -- retries -----------------------------------------------------------------------------------


def test_a_500_is_retried_until_the_first_2xx(app, event, clock):
    with MerchantReceiver([Reply(500), Reply(500), Reply(200)], default=Reply(200)) as receiver:
        event_id = event(receiver.url)

        outcomes = attempt_until_done(clock, app, event_id)

        assert len(receiver.received) == 3
    assert outcomes == ["pending", "pending", "delivered"]
    assert [a["http_status"] for a in attempt_rows(app, event_id)] == [500, 500, 200]


def test_a_failed_attempt_schedules_the_next_one_by_the_retry_schedule(app, event):
    with MerchantReceiver([Reply(500)]) as receiver:
        event_id = event(receiver.url)
        before = utcnow()

        attempt_delivery(app, event_id)

    row = delivery_row(app, event_id)
    assert row["status"] == "pending"
    assert row["last_error"] == "HTTP 500"
    # the first retry comes 5 s ± 20 % after the first attempt
    assert before + timedelta(seconds=4) <= row["next_attempt_at"]
    assert row["next_attempt_at"] <= utcnow() + timedelta(seconds=6)


def test_a_timeout_is_a_failed_attempt_and_is_retried(app, event, clock):
    app.config["WEBHOOK_TIMEOUT_SECONDS"] = 1
    with MerchantReceiver([Reply(200, delay=2), Reply(200)]) as receiver:
        event_id = event(receiver.url)

        outcomes = attempt_until_done(clock, app, event_id)

        assert len(receiver.received) == 2
    timed_out, succeeded = attempt_rows(app, event_id)
    assert outcomes == ["pending", "delivered"]
    assert timed_out["http_status"] is None
    assert timed_out["error"] == "timed out after 1 s"
    assert 900 <= timed_out["duration_ms"] < 2000
    assert succeeded["http_status"] == 200


def test_a_refused_connection_is_a_failed_attempt_and_is_retried(app, project, event, clock):
    nobody_listens = closed_port_url()
    event_id = event(nobody_listens)

    first = attempt_delivery(app, event_id)

    with MerchantReceiver() as receiver:
        point_webhooks_at(app, project, receiver.url)
        wait_for_retry(clock, app, event_id)
        second = attempt_delivery(app, event_id)
        receiver.wait_for(1)
    refused, succeeded = attempt_rows(app, event_id)
    assert (first, second) == ("pending", "delivered")
    assert (refused["url"], refused["http_status"]) == (nobody_listens, None)
    assert refused["error"] == "connection refused"
    assert (succeeded["url"], succeeded["http_status"]) == (receiver.url, 200)


def test_every_attempt_sends_the_same_id_and_body_with_a_fresh_signed_timestamp(
    app, project, event, clock
):
    secret = signing_secret(app, project)
    with MerchantReceiver([Reply(500)]) as receiver:
        event_id = event(receiver.url)
        attempt_delivery(app, event_id)
        wait_for_retry(clock, app, event_id)  # 5 s ± 20 %: the next attempt is a later second
        attempt_delivery(app, event_id)

        first, second = receiver.wait_for(2)
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == event_id
    assert first.body == second.body
    assert int(second.headers["webhook-timestamp"]) > int(first.headers["webhook-timestamp"])
    for received in (first, second):
        assert abs(int(received.headers["webhook-timestamp"]) - received.at) <= 2
        received.verify(secret)
    assert first.headers["webhook-signature"] != second.headers["webhook-signature"]


# -- the attempt log ---------------------------------------------------------------------------


def test_every_attempt_is_logged(app, event, clock):
    long_answer = b"x" * 5 * 1024
    with MerchantReceiver([Reply(500, body=long_answer), Reply(200, body=b"thanks")]) as receiver:
        event_id = event(receiver.url)
        before = utcnow()

        attempt_until_done(clock, app, event_id)

    failed, succeeded = attempt_rows(app, event_id)
    assert [failed["number"], succeeded["number"]] == [1, 2]
    for attempt in (failed, succeeded):
        assert attempt["url"] == receiver.url
        assert attempt["started_at"] >= before - timedelta(seconds=1)
        assert attempt["started_at"] <= utcnow()
        assert 0 <= attempt["duration_ms"] < 1000
    assert failed["error"] == "HTTP 500"
    assert succeeded["error"] is None
    assert failed["http_status"] == 500
    assert failed["response_excerpt"] == "x" * 2048
    assert succeeded["http_status"] == 200
    assert succeeded["response_excerpt"] == "thanks"


# -- answers that stop or shape retries --------------------------------------------------------


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_is_a_failure_and_is_not_followed(app, event, status):
    with MerchantReceiver() as elsewhere:
        redirect = Reply(status, headers={"Location": elsewhere.url})
        with MerchantReceiver([redirect]) as receiver:
            event_id = event(receiver.url)

            outcome = attempt_delivery(app, event_id)

            assert len(receiver.received) == 1
        assert elsewhere.received == []
    [attempt] = attempt_rows(app, event_id)
    row = delivery_row(app, event_id)
    assert outcome == "pending"
    assert attempt["http_status"] == status
    assert "redirects are not followed" in row["last_error"]


def test_410_gone_stops_retries_with_the_reason(app, event):
    with MerchantReceiver(default=Reply(410)) as receiver:
        event_id = event(receiver.url)

        outcome = attempt_delivery(app, event_id)
        make_due(app, event_id)  # even marked due, a delivery stopped by a 410 is not retried
        again = attempt_delivery(app, event_id)

        assert len(receiver.received) == 1
    row = delivery_row(app, event_id)
    assert (outcome, again) == ("failed", "skipped")
    assert row["status"] == "failed"
    assert "410" in row["last_error"]
    assert row["finished_at"] is not None


def test_retry_after_on_a_503_pushes_the_next_attempt_back(app, event):
    with MerchantReceiver([Reply(503, headers={"Retry-After": "120"})]) as receiver:
        event_id = event(receiver.url)
        before = utcnow()

        attempt_delivery(app, event_id)

    next_attempt_at = delivery_row(app, event_id)["next_attempt_at"]
    assert next_attempt_at >= before + timedelta(seconds=120)
    assert next_attempt_at <= utcnow() + timedelta(seconds=120)


def test_after_the_last_scheduled_attempt_the_delivery_fails(app, event):
    app.config["WEBHOOK_RETRY_SCHEDULE"] = (0, 0)
    with MerchantReceiver(default=Reply(500)) as receiver:
        event_id = event(receiver.url)

        outcomes = [attempt_delivery(app, event_id) for _ in range(4)]

        assert len(receiver.received) == 3
    row = delivery_row(app, event_id)
    assert outcomes == ["pending", "pending", "failed", "skipped"]
    assert row["status"] == "failed"
    assert row["last_error"] == "gave up after 3 attempts; last: HTTP 500"
    assert row["next_attempt_at"] is None


# -- failed deliveries, by hand ----------------------------------------------------------------


def fail_for_good(app, event_id: str) -> None:
    app.config["WEBHOOK_RETRY_SCHEDULE"] = (0,)  # one retry, due at once
    assert attempt_delivery(app, event_id) == "pending"
    assert attempt_delivery(app, event_id) == "failed"


def test_webhooks_list_shows_a_failed_delivery(app, event):
    with MerchantReceiver(default=Reply(500)) as receiver:
        event_id = event(receiver.url)
        fail_for_good(app, event_id)

    listed = cli(app, "webhooks", "list", "--status", "failed")["events"]

    assert [(e["event_id"], e["event"], e["status"], e["attempts"]) for e in listed] == [
        (event_id, "item.purchased", "failed", 2)
    ]
    assert "HTTP 500" in listed[0]["last_error"]
    assert cli(app, "webhooks", "list", "--status", "delivered")["events"] == []


def test_resend_sends_a_failed_event_again_with_the_same_id_and_body(app, project, event):
    secret = signing_secret(app, project)
    with MerchantReceiver([Reply(500), Reply(500)], default=Reply(200)) as receiver:
        event_id = event(receiver.url)
        fail_for_good(app, event_id)

        resent = cli(app, "webhooks", "resend", event_id)
        outcome = attempt_delivery(app, event_id)

        *failed, delivered = receiver.wait_for(3)
    assert resent == {"event_id": event_id, "status": "pending"}
    assert outcome == "delivered"
    assert delivered.headers["webhook-id"] == event_id
    assert delivered.body == failed[0].body
    assert delivered.verify(secret)["event"] == "item.purchased"
    assert delivery_row(app, event_id)["status"] == "delivered"


def test_resend_of_an_unknown_event_is_a_clear_error(app):
    result = invoke(app, "webhooks", "resend", "evt_nope")

    assert result.exit_code != 0
    assert "no webhook event 'evt_nope'" in result.output


# -- secret rotation ---------------------------------------------------------------------------


def test_during_the_rotation_grace_both_secrets_sign(app, project, event):
    old_secret = signing_secret(app, project)
    new_secret = cli(app, "webhooks", "rotate-secret", "--project", project.project_id)[
        "webhook_secret"
    ]["sandbox"]
    with MerchantReceiver() as receiver:
        event_id = event(receiver.url)

        attempt_delivery(app, event_id)

        [received] = receiver.wait_for(1)
    assert new_secret != old_secret
    assert len(received.headers["webhook-signature"].split(" ")) == 2
    assert received.verify(new_secret)["event"] == "item.purchased"
    assert received.verify(old_secret)["event"] == "item.purchased"


def test_after_the_rotation_grace_only_the_new_secret_signs(app, project, event, clock):
    old_secret = signing_secret(app, project)
    new_secret = cli(app, "webhooks", "rotate-secret", "--project", project.project_id)[
        "webhook_secret"
    ]["sandbox"]
    after_the_rotation_grace(clock, app, project)
    with MerchantReceiver() as receiver:
        event_id = event(receiver.url)

        attempt_delivery(app, event_id)

        [received] = receiver.wait_for(1)
    assert len(received.headers["webhook-signature"].split(" ")) == 1
    assert received.verify(new_secret)["event"] == "item.purchased"
    with pytest.raises(WebhookVerificationError):
        received.verify(old_secret)


# -- the SSRF guard ----------------------------------------------------------------------------


def test_the_ssrf_guard_refuses_a_loopback_receiver_and_logs_why(app, event, caplog):
    with MerchantReceiver() as receiver:
        # A host name that resolves to loopback: the address is only found at send time (as for
        # DNS that changed since the URL was saved).
        url = receiver.url.replace("127.0.0.1", "localhost")
        event_id = event(url)
        app.config["WEBHOOK_ALLOW_PRIVATE_TARGETS"] = False

        with caplog.at_level(logging.WARNING, logger="app.services.outbox.transport"):
            outcome = attempt_delivery(app, event_id)

        assert receiver.received == []
    [attempt] = attempt_rows(app, event_id)
    assert outcome == "pending"
    assert attempt["http_status"] is None
    assert attempt["url"] == url
    # The tenant reads that it was refused, never what our resolver answered…
    assert attempt["error"] == "refused: not a public address"
    assert delivery_row(app, event_id)["last_error"] == "refused: not a public address"
    # …which the operator finds in the server log.
    assert "localhost refused by the SSRF guard: 127.0.0.1 is loopback" in caplog.text


# -- through RQ, and one at a time -------------------------------------------------------------


def test_an_rq_worker_delivers_an_enqueued_event(app, project, event, run_worker):
    secret = signing_secret(app, project)
    with MerchantReceiver() as receiver:
        event_id = event(receiver.url)  # the settlement enqueues it after commit

        run_worker()

        [received] = receiver.wait_for(1)
    assert received.headers["webhook-id"] == event_id
    received.verify(secret)
    assert delivery_row(app, event_id)["status"] == "delivered"


def test_two_concurrent_jobs_for_one_event_send_one_request(app, event):
    with MerchantReceiver(default=Reply(200, delay=0.5)) as receiver:
        event_id = event(receiver.url)
        start = threading.Barrier(2)
        outcomes: list[str] = []

        def job():
            start.wait()
            outcomes.append(attempt_delivery(app, event_id))

        threads = [threading.Thread(target=job) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=10)

        assert len(receiver.received) == 1
    assert sorted(outcomes) == ["delivered", "skipped"]
    assert [a["number"] for a in attempt_rows(app, event_id)] == [1]
