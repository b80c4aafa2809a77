"""The reconciler (SPEC §15): Lunas asks Midtrans instead of waiting to be told. A payment
whose notification never came is settled on the back-off, through the notification path, with
one webhook; what agrees leaves no event; a settlement is asked once more a day later; Midtrans
failing stops a pass instead of being hammered; calls are spaced by the configured rate; the
CLI and the portal's daily report."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from app.models.base import utcnow
from app.services.checkout.reconcile import next_check, reconcile
from tests.fakes import Answer
from tests.helpers import create_payment, event_rows, invoke, payment_row, soup, status_changes
from tests.portal_client import log_in
from tests.webhook_flow import delivery_rows, settle

FIVE_MINUTES = timedelta(minutes=5)


@pytest.fixture
def app_environ(app_environ):
    app_environ["RECONCILE_CALLS_PER_MINUTE"] = "6000"  # 10 ms apart: the tests do not wait
    return app_environ


def run(app, **options):
    with app.app_context():
        return reconcile(**options)


def get_status_calls(fake, purchase_id: str) -> int:
    return len(fake.calls("GET", f"/v2/{purchase_id}/status"))


def reconcile_events(app, purchase_id: str) -> list[dict]:
    payment_id = payment_row(app, purchase_id)["id"]
    return [
        row
        for row in event_rows(app)
        if row["payment_id"] == payment_id and row["source"] == "reconcile"
    ]


# -- the schedule --------------------------------------------------------------------------------


def test_the_back_off_from_creation_then_daily_until_a_day_past_expiry(app):
    created = utcnow()
    expires = created + timedelta(days=3)
    offsets = []
    moment = created
    with app.app_context():
        while (moment := next_check(created, expires, moment)) is not None:
            offsets.append(moment - created)
            if len(offsets) > 20:
                break
        overdue_at = next_check(
            created, created + timedelta(hours=2), created + timedelta(minutes=90)
        )
    minutes = [offset.total_seconds() / 60 for offset in offsets]
    # 5 min, then 15 min, 1 h, 6 h later, then a day apart, while the payment can still change.
    assert minutes[:4] == [5, 20, 80, 440]
    daily = [round(m - n) for m, n in zip(minutes[4:-1], minutes[3:-2], strict=True)]
    assert daily == [1440, 1440]
    # The last is the moment it becomes overdue (3 days and the 15 minutes' grace): from
    # there the pending janitor asks, and the reconciler has nothing more to schedule.
    assert offsets[-1] == timedelta(days=3, minutes=15)
    # The check never falls after the moment the payment becomes overdue (the janitor's).
    assert overdue_at == created + timedelta(hours=2, minutes=15)


# -- a missed notification --------------------------------------------------------------------


def test_a_settlement_whose_notification_never_came_is_applied_once_with_one_webhook(
    app, client, project, fake_midtrans, clock
):
    purchase_id = create_payment(client, project)
    fake_midtrans.set_status(purchase_id, "settlement", "75000.00", payment_type="qris")

    early = run(app)
    assert early.checked == 0 and get_status_calls(fake_midtrans, purchase_id) == 0  # not due

    clock.shift(FIVE_MINUTES + timedelta(seconds=1))
    report = run(app)

    assert (report.checked, report.corrected, report.failed) == (1, 1, 0)
    [correction] = report.corrections
    assert (correction.purchase_id, correction.from_status, correction.to_status) == (
        purchase_id,
        "pending",
        "settlement",
    )
    row = payment_row(app, purchase_id)
    assert row["status"] == "settlement" and row["paid_at"] is not None
    [event] = reconcile_events(app, purchase_id)
    assert event["outcome"] == "applied"
    assert json.loads(event["raw_body"])["transaction_status"] == "settlement"
    [delivery] = delivery_rows(app)
    assert delivery["event_type"] == "item.purchased"

    # The notification arrives late after all: a duplicate, no second webhook.
    settle(client, fake_midtrans, purchase_id, payment_type="qris")
    assert len(delivery_rows(app)) == 1
    assert status_changes(app) == [("pending", "settlement")]


def test_midtrans_reporting_less_than_the_amount_settles_nothing(
    app, client, project, fake_midtrans, clock
):
    purchase_id = create_payment(client, project)
    fake_midtrans.set_status(purchase_id, "settlement", "7500.00")  # a tenth of the price
    clock.shift(FIVE_MINUTES + timedelta(seconds=1))

    report = run(app)

    assert (report.checked, report.corrected, report.failed) == (1, 0, 1)
    assert payment_row(app, purchase_id)["status"] == "pending"
    [event] = reconcile_events(app, purchase_id)
    assert event["outcome"] == "amount_mismatch"
    assert delivery_rows(app) == []  # no webhook says it was paid


def test_a_notification_that_lands_during_the_pass_is_not_applied_twice(
    app, client, project, fake_midtrans, clock
):
    first = create_payment(client, project, order_id="order-1")
    second = create_payment(client, project, order_id="order-2")
    for purchase_id in (first, second):
        fake_midtrans.set_status(purchase_id, "settlement", "75000.00")
    clock.shift(FIVE_MINUTES + timedelta(seconds=1))

    def notification_arrives(seconds: float) -> bool:
        settle(client, fake_midtrans, second)  # after the pass read its due rows
        return False

    report = run(app, pause=notification_arrives)

    assert (report.checked, report.corrected) == (2, 1)
    assert [c.purchase_id for c in report.corrections] == [first]
    assert sorted(row["event_type"] for row in delivery_rows(app)) == ["item.purchased"] * 2
    assert status_changes(app) == [("pending", "settlement"), ("pending", "settlement")]
    assert payment_row(app, second)["next_reconcile_at"] is not None  # its day-later check


def test_what_agrees_leaves_no_event_and_is_asked_again_on_the_back_off(
    app, client, project, fake_midtrans, clock
):
    purchase_id = create_payment(client, project)
    fake_midtrans.set_status(purchase_id, "pending", "75000.00")
    clock.shift(FIVE_MINUTES + timedelta(seconds=1))

    first = run(app)
    again = run(app)

    assert (first.checked, first.corrected) == (1, 0)
    assert again.checked == 0  # the next check is 15 minutes on
    assert reconcile_events(app, purchase_id) == []
    row = payment_row(app, purchase_id)
    assert row["status"] == "pending"
    assert row["next_reconcile_at"] - row["created_at"] == timedelta(minutes=20)


def test_a_checkout_midtrans_does_not_know_yet_is_left_pending(
    app, client, project, fake_midtrans, clock
):
    purchase_id = create_payment(client, project)  # no method chosen: Get Status says 404
    clock.shift(FIVE_MINUTES + timedelta(seconds=1))

    report = run(app)

    assert (report.checked, report.corrected, report.failed) == (1, 0, 0)
    assert payment_row(app, purchase_id)["status"] == "pending"


def test_a_settlement_is_asked_once_more_a_day_later_and_a_dashboard_refund_applied(
    app, client, project, fake_midtrans, clock
):
    purchase_id = create_payment(client, project)
    settle(client, fake_midtrans, purchase_id, payment_type="qris")
    assert run(app).checked == 0

    clock.shift(timedelta(days=1, seconds=1))
    fake_midtrans.set_status(
        purchase_id, "refund", "75000.00", payment_type="qris", refund_amount="75000.00"
    )
    report = run(app)
    later = run(app)

    assert (report.checked, report.corrected) == (1, 1)
    assert payment_row(app, purchase_id)["status"] == "refund"
    assert [row["event_type"] for row in delivery_rows(app)] == [
        "item.purchased",
        "payment.refunded",
    ]
    assert later.checked == 0 and payment_row(app, purchase_id)["next_reconcile_at"] is None


# -- Midtrans's limits -----------------------------------------------------------------------


def test_midtrans_failing_stops_the_pass_and_changes_nothing(
    app, client, project, fake_midtrans, clock
):
    purchases = [create_payment(client, project, order_id=f"order-{n}") for n in range(6)]
    fake_midtrans.status_default = Answer(503, {"status_code": "503"})
    clock.shift(FIVE_MINUTES + timedelta(seconds=1))

    report = run(app)

    assert report.stopped_early and (report.checked, report.failed) == (3, 3)
    assert len(fake_midtrans.calls("GET", "/v2/")) == 3  # not six: Midtrans is not hammered
    for purchase_id in purchases:
        row = payment_row(app, purchase_id)
        assert row["status"] == "pending"
    failed = [payment_row(app, p) for p in purchases[:3]]
    # Asked again within five minutes, not at the next step of the back-off.
    assert all(row["next_reconcile_at"] <= utcnow() + FIVE_MINUTES for row in failed)


def test_calls_are_spaced_by_the_rate_and_a_pass_takes_a_minutes_worth(
    app, client, project, fake_midtrans, clock
):
    for n in range(5):
        create_payment(client, project, order_id=f"order-{n}")
    app.config["RECONCILE_CALLS_PER_MINUTE"] = 3
    clock.shift(FIVE_MINUTES + timedelta(seconds=1))
    pauses: list[float] = []

    report = run(app, pause=lambda seconds: pauses.append(seconds) or False)

    assert report.checked == 3  # a minute's worth at 3 a minute
    assert pauses == [20.0, 20.0]  # evenly spread over the minute, never a burst
    assert len(fake_midtrans.calls("GET", "/v2/")) == 3


def test_a_stop_request_ends_the_pass_between_calls(app, client, project, fake_midtrans, clock):
    for n in range(3):
        create_payment(client, project, order_id=f"order-{n}")
    clock.shift(FIVE_MINUTES + timedelta(seconds=1))

    report = run(app, pause=lambda seconds: True)  # the worker is stopping

    assert report.checked == 1


# -- the command and the report --------------------------------------------------------------


def test_flask_reconcile_all_due_now_asks_about_what_is_not_due_yet(
    app, client, project, fake_midtrans
):
    purchase_id = create_payment(client, project)
    fake_midtrans.set_status(purchase_id, "settlement", "75000.00")

    waiting = invoke(app, "reconcile")
    now = invoke(app, "reconcile", "--all-due-now")

    assert waiting.exit_code == 0 and json.loads(waiting.output)["checked"] == 0
    assert now.exit_code == 0, now.output
    found = json.loads(now.output)
    assert (found["checked"], found["corrected"]) == (1, 1)
    assert found["corrections"] == [
        {"purchase_id": purchase_id, "from_status": "pending", "to_status": "settlement"}
    ]


def test_the_portal_report_shows_the_days_counts_and_which_were_corrected(
    app, client, project, strangers, fake_midtrans
):
    corrected = create_payment(client, project, order_id="INV-77")
    agreed = create_payment(client, project, order_id="INV-78")
    fake_midtrans.set_status(corrected, "settlement", "75000.00")
    fake_midtrans.set_status(agreed, "pending", "75000.00")
    assert run(app, all_due_now=True).checked == 2

    log_in(client, "owner@example.com")
    page = client.get(f"/projects/{project.project_id}/reconciliation")

    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert corrected in text and "INV-77" in text
    assert agreed not in text  # only what was corrected is listed by name
    days = page_table(page, "reconcile-days")
    assert [row[1:] for row in days] == [["2", "1", "0"]]
    # The production environment has its own report, empty here.
    production = client.get(f"/projects/{project.project_id}/reconciliation?env=production")
    assert corrected not in production.get_data(as_text=True)
    # Another merchant cannot read it.
    stranger = app.test_client()
    log_in(stranger, "stranger@example.com")
    assert stranger.get(f"/projects/{project.project_id}/reconciliation").status_code == 404


def page_table(page, css_class: str) -> list[list[str]]:
    table = soup(page).select_one(f"table.{css_class}")
    return [
        [cell.get_text(strip=True) for cell in row.select("td")] for row in table.select("tbody tr")
    ]
