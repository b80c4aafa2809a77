"""Which merchant events a payment's status changes record, what they carry, and that
they are written with the change itself: at most one item.purchased per payment."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import Payment, PaymentStatusChange, WebhookDelivery
from app.models.base import utcnow
from app.services.outbox import events as webhooks
from tests.helpers import ISO_Z, MERCHANT_URL, create_payment, invoke, without
from tests.receiver import MerchantReceiver
from tests.webhook_flow import (
    attempt_delivery,
    attempt_rows,
    delivery_rows,
    midtrans_moves,
    payloads,
    point_webhooks_at,
    settle,
)

METADATA = {
    "store_id": "store-uuid",
    "store_name": "Warung Bu Sari",
    "store_slug": "warung-bu-sari",
    "product_id": "product-uuid",
}


@pytest.fixture
def purchase_id(app, client, project, fake_midtrans) -> str:
    """A pending sandbox payment whose project sends its webhooks to MERCHANT_URL."""
    point_webhooks_at(app, project, MERCHANT_URL)
    return create_payment(client, project)


def moves(client, fake_midtrans, purchase_id, *statuses, **extra):
    for status in statuses:
        response = midtrans_moves(client, fake_midtrans, purchase_id, status, **extra)
        assert response.status_code == 200, response.get_json()


def event_types(app) -> list[str]:
    return [row["event_type"] for row in delivery_rows(app)]


def payment_id_of(app, purchase_id: str) -> int:
    with app.app_context():
        return db.session.scalar(select(Payment.id).where(Payment.purchase_id == purchase_id))


def status_change_times(app) -> list[str]:
    with app.app_context():
        times = db.session.scalars(
            select(PaymentStatusChange.created_at).order_by(PaymentStatusChange.id)
        )
        return [moment.strftime("%Y-%m-%dT%H:%M:%SZ") for moment in times]


# -- item.purchased: the payload ---------------------------------------------------------------


def test_item_purchased_carries_exactly_the_reference_payload(app, client, project, fake_midtrans):
    point_webhooks_at(app, project, MERCHANT_URL)
    purchase_id = create_payment(
        client,
        project,
        order_id="your-internal-order-uuid",
        item_name="Nasi Goreng Spesial",
        buyer_email="buyer@example.com",
        buyer_name="John Doe",
        metadata=METADATA,
    )

    settle(
        client,
        fake_midtrans,
        purchase_id,
        settlement_time="2026-05-06 17:00:00",
        va_numbers=[{"bank": "bca", "va_number": "12345678901"}],
    )

    assert payloads(app) == [
        {
            "event": "item.purchased",
            "order_id": "your-internal-order-uuid",
            "item_id": "__direct__",
            "item_name": "Nasi Goreng Spesial",
            "buyer_email": "buyer@example.com",
            "buyer_name": "John Doe",
            "amount": 75000,
            "currency": "IDR",
            "paid_at": "2026-05-06T10:00:00Z",
            "metadata": METADATA,
            "purchase_id": purchase_id,
            "environment": "sandbox",
            "payment_type": "bank_transfer",
            "payment_channel": "bca",  # SPEC §11.1: the VA's bank, beside payment_type
            "buyer_phone": None,
        }
    ]


def test_optional_strings_not_sent_are_null_and_absent_metadata_is_empty(
    app, client, fake_midtrans, purchase_id
):
    settle(client, fake_midtrans, purchase_id, payment_type="gopay")

    [payload] = payloads(app)
    assert payload["item_name"] is None
    assert payload["buyer_name"] is None
    assert payload["metadata"] == {}
    assert payload["payment_type"] == "gopay"
    assert ISO_Z.match(payload["paid_at"])


def test_the_event_is_recorded_for_the_payments_project_and_environment(
    app, client, project, fake_midtrans
):
    point_webhooks_at(app, project, MERCHANT_URL)
    purchase_id = create_payment(client, project)

    settle(client, fake_midtrans, purchase_id)

    [row] = delivery_rows(app)
    assert row["event_type"] == "item.purchased"
    assert row["project_id"] == project.project_id
    assert row["environment"] == "sandbox"
    assert row["payment_id"] == payment_id_of(app, purchase_id)
    assert row["dedupe_key"] == f"item.purchased:{row['payment_id']}"
    assert row["status"] == "pending"
    assert row["id"].startswith("evt_")


def test_a_production_payment_names_its_environment(app, client, project, fake_midtrans):
    point_webhooks_at(app, project, MERCHANT_URL, environment="production")
    purchase_id = create_payment(client, project, "production")

    settle(client, fake_midtrans, purchase_id)

    [row] = delivery_rows(app)
    assert row["environment"] == "production"
    assert json.loads(row["body"])["environment"] == "production"
    assert row["status"] == "pending"


# -- item.purchased: one transaction, at most once ---------------------------------------------


def test_the_event_rolls_back_with_a_settlement_that_fails(
    app, client, fake_midtrans, purchase_id, monkeypatch
):
    real_record = webhooks.record_payment_events

    def record_then_crash(*args):
        real_record(*args)
        raise RuntimeError("the transaction dies after the event was added")

    monkeypatch.setattr("app.services.checkout.status.record_payment_events", record_then_crash)

    response = midtrans_moves(client, fake_midtrans, purchase_id, "settlement")

    assert response.status_code == 500
    assert delivery_rows(app) == []
    with app.app_context():
        payment = db.session.scalar(select(Payment).where(Payment.purchase_id == purchase_id))
        assert payment.status == "pending"


def test_midtrans_retrying_a_settlement_that_failed_records_the_event_once(
    app, client, fake_midtrans, purchase_id, monkeypatch
):
    def crash(*args):
        raise RuntimeError("boom")

    monkeypatch.setattr("app.services.checkout.status.record_payment_events", crash)
    assert midtrans_moves(client, fake_midtrans, purchase_id, "settlement").status_code == 500
    monkeypatch.undo()

    response = midtrans_moves(client, fake_midtrans, purchase_id, "settlement")

    assert response.status_code == 200
    assert event_types(app) == ["item.purchased"]


def test_the_event_is_committed_before_it_is_enqueued(
    app, client, fake_midtrans, purchase_id, monkeypatch
):
    seen_by_another_connection: list[tuple[int, int]] = []

    def enqueue(delivery_ids, delay_seconds=0):
        # What a worker would see the moment it picks up the job. A bare DBAPI connection:
        # on SQLite every SQLAlchemy transaction takes the write lock, which the request
        # still holds here.
        other = db.engine.raw_connection()
        try:
            cursor = other.cursor()
            cursor.execute("SELECT count(*) FROM webhook_deliveries")
            seen_by_another_connection.append((len(delivery_ids), cursor.fetchone()[0]))
            cursor.close()
        finally:
            other.close()

    monkeypatch.setattr("app.services.checkout.notifications.enqueue", enqueue)

    settle(client, fake_midtrans, purchase_id)

    assert seen_by_another_connection == [(1, 1)]


def test_a_settlement_notified_five_times_records_one_event(
    app, client, fake_midtrans, purchase_id
):
    moves(client, fake_midtrans, purchase_id, *["settlement"] * 5)

    assert event_types(app) == ["item.purchased"]


def test_the_database_refuses_a_second_item_purchased_for_a_payment(
    app, client, fake_midtrans, purchase_id
):
    settle(client, fake_midtrans, purchase_id)
    [first] = delivery_rows(app)

    with app.app_context():
        duplicate = {**first, "id": "evt_second_for_the_same_payment", "status": "pending"}
        with pytest.raises(IntegrityError):
            db.session.execute(insert(WebhookDelivery.__table__).values(**duplicate))
        db.session.rollback()

    assert [row["id"] for row in delivery_rows(app)] == [first["id"]]


def test_a_payment_paid_after_expiry_records_item_purchased(
    app, client, fake_midtrans, purchase_id
):
    moves(client, fake_midtrans, purchase_id, "expire", "settlement")

    assert event_types(app) == ["item.purchased"]


@pytest.mark.parametrize(
    "statuses",
    [["cancel"], ["deny"], ["expire"], ["pending"], ["pending", "cancel"], ["pending", "expire"]],
    ids="-".join,
)
def test_a_payment_that_never_settled_records_no_event(
    app, client, fake_midtrans, purchase_id, statuses
):
    moves(client, fake_midtrans, purchase_id, *statuses)

    assert delivery_rows(app) == []


# -- after item.purchased: refunds and reversals -----------------------------------------------


def test_a_refund_after_settlement_records_payment_refunded(
    app, client, fake_midtrans, purchase_id
):
    started = utcnow().replace(microsecond=0)
    moves(client, fake_midtrans, purchase_id, "settlement", "refund")

    purchased, refunded = payloads(app)
    assert refunded["event"] == "payment.refunded"
    assert refunded["status"] == "refund"
    assert refunded["changed_at"] == status_change_times(app)[1]
    assert ISO_Z.match(refunded["changed_at"])
    assert refunded["changed_at"] >= started.strftime("%Y-%m-%dT%H:%M:%SZ")
    # Midtrans's refund, not one of ours: no refund id, the whole amount (SPEC §11.4).
    assert (refunded["refund_id"], refunded["refund_amount"], refunded["refunded_amount"]) == (
        None,
        75000,
        75000,
    )
    # the same fields as item.purchased, plus status, the time of the change and the refund
    refund_fields = ("refund_id", "refund_amount", "refunded_amount")
    assert without(refunded, "event", "status", "changed_at", *refund_fields) == without(
        purchased, "event"
    )


def test_a_reversal_after_settlement_records_payment_reversed(
    app, client, fake_midtrans, purchase_id
):
    # some VA / convenience-store settlements are reversed: Midtrans reports deny
    moves(client, fake_midtrans, purchase_id, "settlement", "deny")

    purchased, reversed_ = payloads(app)
    assert event_types(app) == ["item.purchased", "payment.reversed"]
    assert reversed_["status"] == "cancel"
    assert reversed_["changed_at"] == status_change_times(app)[1]
    assert without(reversed_, "event", "status", "changed_at") == without(purchased, "event")


def test_each_partial_refund_of_a_new_amount_records_its_own_payment_refunded(
    app, client, fake_midtrans, purchase_id
):
    settle(client, fake_midtrans, purchase_id)

    for refunded in ("10000.00", "10000.00", "25000.00"):
        moves(client, fake_midtrans, purchase_id, "partial_refund", refund_amount=refunded)

    assert event_types(app) == ["item.purchased", "payment.refunded", "payment.refunded"]
    assert [payload.get("status") for payload in payloads(app)] == [
        None,
        "partial_refund",
        "partial_refund",
    ]


def test_a_full_refund_after_a_partial_one_records_another_payment_refunded(
    app, client, fake_midtrans, purchase_id
):
    settle(client, fake_midtrans, purchase_id)
    moves(client, fake_midtrans, purchase_id, "partial_refund", refund_amount="10000.00")
    moves(client, fake_midtrans, purchase_id, "refund", refund_amount="75000.00")

    assert [payload.get("status") for payload in payloads(app, "payment.refunded")] == [
        "partial_refund",
        "refund",
    ]


# -- no endpoint yet ---------------------------------------------------------------------------


def test_without_a_webhook_url_the_event_waits_for_an_endpoint(app, client, project, fake_midtrans):
    purchase_id = create_payment(client, project)  # the project has no webhook URL

    settle(client, fake_midtrans, purchase_id)

    [row] = delivery_rows(app)
    assert row["event_type"] == "item.purchased"
    assert row["status"] == "waiting_for_endpoint"
    assert row["next_attempt_at"] is None
    assert attempt_delivery(app, row["id"]) == "skipped"


def test_setting_a_url_sends_the_waiting_event(app, client, project, fake_midtrans):
    settle(client, fake_midtrans, create_payment(client, project))
    [waiting] = delivery_rows(app)

    with MerchantReceiver() as receiver:
        result = invoke(app, "webhooks", "set-url", "--project", project.project_id, receiver.url)
        assert result.exit_code == 0, result.output
        assert json.loads(result.output)["released"] == {"sandbox": 1, "production": 0}
        assert delivery_rows(app)[0]["status"] == "pending"

        assert attempt_delivery(app, waiting["id"]) == "delivered"
        [received] = receiver.wait_for(1)
    assert received.body == waiting["body"].encode()
    assert received.headers["webhook-id"] == waiting["id"]


def test_an_event_whose_url_was_removed_waits_for_a_new_one(
    app, client, project, fake_midtrans, purchase_id
):
    settle(client, fake_midtrans, purchase_id)
    [event] = delivery_rows(app)
    point_webhooks_at(app, project, None)

    outcome = attempt_delivery(app, event["id"])

    [event] = delivery_rows(app)
    assert outcome == "waiting_for_endpoint"
    assert event["status"] == "waiting_for_endpoint"
    assert event["attempt_count"] == 0
    assert attempt_rows(app, event["id"]) == []


def test_a_url_for_the_other_environment_releases_nothing(app, client, project, fake_midtrans):
    settle(client, fake_midtrans, create_payment(client, project))

    released = point_webhooks_at(app, project, MERCHANT_URL, environment="production")

    assert released == []
    assert delivery_rows(app)[0]["status"] == "waiting_for_endpoint"


# -- the body is frozen ------------------------------------------------------------------------


def test_the_body_sent_is_the_one_frozen_when_the_event_was_recorded(
    app, client, project, fake_midtrans
):
    with MerchantReceiver() as receiver:
        point_webhooks_at(app, project, receiver.url)
        purchase_id = create_payment(client, project, item_name="Nasi Goreng Spesial")
        settle(client, fake_midtrans, purchase_id)
        [row] = delivery_rows(app)
        # given the payment changes after the event was recorded
        with app.app_context():
            db.session.execute(
                update(Payment)
                .where(Payment.purchase_id == purchase_id)
                .values(item_name="Mie Ayam", buyer_name="Someone Else", amount=1)
            )
            db.session.commit()

        attempt_delivery(app, row["id"])
        [received] = receiver.wait_for(1)

    assert received.body == row["body"].encode()
    assert json.loads(received.body)["item_name"] == "Nasi Goreng Spesial"
    assert json.loads(received.body)["amount"] == 75000


def test_the_frozen_body_keeps_non_ascii_text(app, client, project, fake_midtrans):
    point_webhooks_at(app, project, MERCHANT_URL)
    purchase_id = create_payment(client, project, item_name="Es Teh Manis — gelas besar")

    settle(client, fake_midtrans, purchase_id)

    [row] = delivery_rows(app)
    assert "Es Teh Manis — gelas besar" in row["body"]
    assert json.loads(row["body"])["item_name"] == "Es Teh Manis — gelas besar"
