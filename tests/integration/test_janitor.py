"""The pending janitor: Midtrans sends nothing when a Snap page expires unpaid, so
payments still pending 15 minutes after expires_at are checked with Get Status."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from app.extensions import db
from app.models import PaymentStatus, PaymentStatusChange
from app.models.base import utcnow
from app.services.checkout.janitor import expire_stale_checkouts
from app.worker import Maintenance
from tests.fakes import Answer
from tests.helpers import (
    create_payment,
    direct_payment,
    event_rows,
    invoke,
    payment_row,
    set_status,
    status_changes,
    table_rows,
)

OVERDUE = timedelta(minutes=16)
NOT_YET_OVERDUE = timedelta(minutes=14)


def expired_ago(clock, app, purchase_id: str, ago: timedelta) -> None:
    """Time passes (on `clock`) until the payment expired `ago` ago."""
    moment = payment_row(app, purchase_id)["expires_at"] + ago
    if moment > utcnow():
        clock.move_to(moment)


def run_janitor(app):
    with app.app_context():
        return expire_stale_checkouts()


def insert_creating_row(app, project_id: str, order_id: str) -> str:
    """A row left "creating" by a checkout request that died before Midtrans answered."""
    purchase_id = f"pur_abandoned{order_id.replace('-', '')}".ljust(28, "0")
    with app.app_context():
        db.session.add(
            direct_payment(
                project_id,
                utcnow(),
                purchase_id=purchase_id,
                order_id=order_id,
                amount=75000,
                buyer_email="buyer@example.com",
                status=PaymentStatus.CREATING,
            )
        )
        db.session.commit()
    return purchase_id


# -- the service -------------------------------------------------------------------------------


def test_an_overdue_payment_unknown_at_midtrans_expires(app, fake_midtrans, purchase_id, clock):
    # given a payment pending 16 minutes after it expired, never seen by Midtrans
    expired_ago(clock, app, purchase_id, OVERDUE)

    report = run_janitor(app)

    assert payment_row(app, purchase_id)["status"] == "expire"
    assert (report.checked, report.errors, report.outcomes) == (1, 0, {"applied": 1})
    assert fake_midtrans.calls("GET", f"/v2/{purchase_id}/status")


def test_an_overdue_payment_midtrans_settled_settles_through_the_notification_path(
    app, fake_midtrans, purchase_id, clock
):
    # given Midtrans has the money but its notification never reached us
    expired_ago(clock, app, purchase_id, OVERDUE)
    fake_midtrans.set_status(
        purchase_id, "settlement", "75000.00", settlement_time="2026-11-22 17:00:05"
    )

    report = run_janitor(app)

    payment = payment_row(app, purchase_id)
    assert payment["status"] == "settlement"
    assert payment["paid_at"].isoformat() == "2026-11-22T10:00:05+00:00"
    assert payment["midtrans_transaction_status"] == "settlement"
    [event] = event_rows(app)
    assert (event["source"], event["outcome"]) == ("janitor", "applied")
    assert json.loads(event["raw_body"])["transaction_status"] == "settlement"
    [change] = table_rows(app, PaymentStatusChange)
    assert (change["from_status"], change["to_status"]) == ("pending", "settlement")
    assert change["event_id"] == event["id"]
    assert report.outcomes == {"applied": 1}


def test_an_overdue_payment_midtrans_paid_too_little_for_stays_pending(
    app, fake_midtrans, purchase_id, clock
):
    expired_ago(clock, app, purchase_id, OVERDUE)
    fake_midtrans.set_status(purchase_id, "settlement", "1000.00")

    report = run_janitor(app)

    assert payment_row(app, purchase_id)["status"] == "pending"
    assert report.errors == 1
    assert [event["outcome"] for event in event_rows(app)] == ["amount_mismatch"]


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(Answer(500, {"status_code": "500", "status_message": "boom"}), id="http-500"),
        pytest.param(Answer(200, {"status_code": "503", "status_message": "busy"}), id="body-503"),
    ],
)
def test_an_overdue_payment_stays_pending_when_get_status_fails(
    app, fake_midtrans, purchase_id, clock, answer
):
    expired_ago(clock, app, purchase_id, OVERDUE)
    fake_midtrans.status_answers[purchase_id] = answer

    report = run_janitor(app)

    assert payment_row(app, purchase_id)["status"] == "pending"
    assert (report.checked, report.errors, report.outcomes) == (1, 1, {})
    assert [event["outcome"] for event in event_rows(app)] == ["unconfirmed"]
    assert status_changes(app) == []


def test_a_payment_midtrans_still_calls_pending_is_rechecked_later_not_every_run(
    app, fake_midtrans, purchase_id, clock
):
    # given an overdue payment that Midtrans keeps reporting as pending
    expired_ago(clock, app, purchase_id, OVERDUE)
    fake_midtrans.set_status(purchase_id, "pending", "75000.00")

    first = run_janitor(app)
    second = run_janitor(app)
    clock.shift(timedelta(minutes=31))
    later = run_janitor(app)

    # then it is asked once, left alone for 30 minutes, then asked again
    assert (first.checked, second.checked, later.checked) == (1, 0, 1)
    assert len(fake_midtrans.calls("GET", f"/v2/{purchase_id}/status")) == 2
    assert payment_row(app, purchase_id)["status"] == "pending"


def test_one_failing_payment_does_not_stop_the_others(app, client, project, fake_midtrans, clock):
    failing = create_payment(client, project, order_id="order-1")
    unknown = create_payment(client, project, order_id="order-2")
    for purchase_id in (failing, unknown):
        expired_ago(clock, app, purchase_id, OVERDUE)
    fake_midtrans.status_answers[failing] = Answer(500, {"status_message": "boom"})

    report = run_janitor(app)

    assert payment_row(app, failing)["status"] == "pending"
    assert payment_row(app, unknown)["status"] == "expire"
    assert (report.checked, report.errors) == (2, 1)


@pytest.mark.parametrize(
    "expired",
    [
        pytest.param(None, id="not-expired"),
        pytest.param(NOT_YET_OVERDUE, id="expired-14-minutes-ago"),
    ],
)
def test_a_payment_not_yet_overdue_is_untouched(app, fake_midtrans, purchase_id, clock, expired):
    if expired is not None:
        expired_ago(clock, app, purchase_id, expired)
    before = payment_row(app, purchase_id)

    report = run_janitor(app)

    assert payment_row(app, purchase_id) == before
    assert report.checked == 0
    assert fake_midtrans.calls("GET", "/v2/") == []
    assert event_rows(app) == []


def test_an_overdue_payment_that_is_no_longer_pending_is_untouched(
    app, client, fake_midtrans, purchase_id, clock
):
    expired_ago(clock, app, purchase_id, OVERDUE)
    set_status(app, purchase_id, PaymentStatus.SETTLEMENT)

    report = run_janitor(app)

    assert payment_row(app, purchase_id)["status"] == "settlement"
    assert report.checked == 0
    assert fake_midtrans.calls("GET", "/v2/") == []


def test_a_creating_row_older_than_ten_minutes_is_removed(app, project, fake_midtrans, clock):
    abandoned = insert_creating_row(app, project.project_id, "order-old")
    clock.shift(timedelta(minutes=6))
    in_flight = insert_creating_row(app, project.project_id, "order-new")
    clock.shift(timedelta(minutes=5))  # the first is now 11 minutes old, the second 5

    report = run_janitor(app)

    assert payment_row(app, abandoned) is None
    assert payment_row(app, in_flight)["status"] == "creating"
    assert report.abandoned_removed == 1


# -- the worker and the CLI ----------------------------------------------------------------------


def test_the_workers_maintenance_pass_expires_an_overdue_payment(
    app, fake_midtrans, purchase_id, clock
):
    # given an overdue payment
    expired_ago(clock, app, purchase_id, OVERDUE)

    # when the worker's maintenance thread takes its janitor turn
    Maintenance(app).janitor()

    # then the payment expired, as Midtrans says
    assert payment_row(app, purchase_id)["status"] == "expire"


def test_the_cli_command_prints_its_report(app, fake_midtrans, purchase_id, clock):
    expired_ago(clock, app, purchase_id, OVERDUE)

    result = invoke(app, "payments", "expire-stale")

    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {
        "checked": 1,
        "outcomes": {"applied": 1},
        "errors": 0,
        "abandoned_removed": 0,
    }
    assert payment_row(app, purchase_id)["status"] == "expire"
