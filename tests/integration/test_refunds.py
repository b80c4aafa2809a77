"""Refunds through the merchant API (SPEC §11.4): full and partial, each refusal, the refund
id as Midtrans's refund_key, a timed-out call settled by a later check, and Midtrans's own
refund notification recognised as the same refund."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest

from app.extensions import db
from app.models import Payment, PaymentEvent, Refund
from app.models.base import utcnow
from app.services.outbox.endpoints import configure_endpoint
from app.services.payments.refunds import check_pending_refunds
from tests.fakes import Answer
from tests.helpers import ISO_Z, MERCHANT_URL, create_payment, payment_row, table_rows
from tests.merchant_api import api_get, paid_payment, payment_url, refund
from tests.webhook_flow import SANDBOX, midtrans_moves, payloads, point_webhooks_at

RFD_ID = re.compile(r"^rfd_[A-Za-z0-9]{20,}$")


@pytest.fixture(autouse=True)
def webhooks_on(app, project):
    point_webhooks_at(app, project, MERCHANT_URL)


def refund_rows(app) -> list[dict]:
    return table_rows(app, Refund, order_by=(Refund.created_at,))


def refund_calls(fake) -> list[dict]:
    return [call.body for call in fake.calls("POST", "/v2/") if call.path.endswith("/refund")]


def test_a_full_refund_by_default_gives_everything_back_once(app, client, project, fake_midtrans):
    purchase_id = paid_payment(client, project, fake_midtrans)

    response = refund(client, project, purchase_id, reason="barang habis")

    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert RFD_ID.match(body["refund_id"])
    assert body["purchase_id"] == purchase_id
    assert body["amount"] == 75000
    assert body["reason"] == "barang habis"
    assert body["status"] == "succeeded"
    assert ISO_Z.match(body["created_at"])
    # Midtrans was asked once, with our refund id as its refund_key.
    assert refund_calls(fake_midtrans) == [
        {"refund_key": body["refund_id"], "amount": 75000, "reason": "barang habis"}
    ]
    row = payment_row(app, purchase_id)
    assert (row["status"], row["refunded"]) == ("refund", 75000)
    [event] = payloads(app, "payment.refunded")
    assert event["refund_id"] == body["refund_id"]
    assert (event["refund_amount"], event["refunded_amount"]) == (75000, 75000)
    assert event["status"] == "refund"


def test_partial_refunds_add_up_and_the_last_one_makes_it_a_full_refund(
    app, client, project, fake_midtrans
):
    purchase_id = paid_payment(client, project, fake_midtrans)

    first = refund(client, project, purchase_id, amount=25000)
    assert first.status_code == 201
    assert payment_row(app, purchase_id)["status"] == "partial_refund"
    second = refund(client, project, purchase_id, amount=30000)
    assert second.status_code == 201
    assert payment_row(app, purchase_id)["refunded"] == 55000
    rest = refund(client, project, purchase_id)  # all that remains

    assert rest.get_json()["amount"] == 20000
    row = payment_row(app, purchase_id)
    assert (row["status"], row["refunded"]) == ("refund", 75000)
    events = payloads(app, "payment.refunded")
    assert [(e["refund_amount"], e["refunded_amount"], e["status"]) for e in events] == [
        (25000, 25000, "partial_refund"),
        (30000, 55000, "partial_refund"),
        (20000, 75000, "refund"),
    ]
    detail = api_get(client, project, payment_url(purchase_id)).get_json()
    assert detail["refunded_amount"] == 75000
    assert [r["amount"] for r in detail["refunds"]] == [25000, 30000, 20000]
    listed = api_get(client, project, payment_url(purchase_id, "refunds")).get_json()["data"]
    assert [r["refund_id"] for r in listed] == [r["refund_id"] for r in detail["refunds"]]


def test_more_than_what_remains_is_refused_and_changes_nothing(app, client, project, fake_midtrans):
    purchase_id = paid_payment(client, project, fake_midtrans)
    refund(client, project, purchase_id, amount=50000)

    response = refund(client, project, purchase_id, amount=25001)

    assert response.status_code == 422
    error = response.get_json()["error"]
    assert (error["code"], error["field"]) == ("refund_exceeds_payment", "amount")
    assert "25000" in error["message"]
    assert len(refund_rows(app)) == 1
    assert len(refund_calls(fake_midtrans)) == 1


def test_a_fully_refunded_payment_has_nothing_left(app, client, project, fake_midtrans):
    purchase_id = paid_payment(client, project, fake_midtrans)
    refund(client, project, purchase_id)

    response = refund(client, project, purchase_id, amount=1)

    assert response.status_code == 409  # refund is no longer a refundable state
    assert response.get_json()["error"]["code"] == "invalid_state"


@pytest.mark.parametrize("status", ["pending", "expire"])
def test_only_paid_payments_can_be_refunded(app, client, project, fake_midtrans, status):
    purchase_id = create_payment(client, project)
    if status == "expire":
        midtrans_moves(client, fake_midtrans, purchase_id, "expire")

    response = refund(client, project, purchase_id, amount=1000)

    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["code"] == "invalid_state"
    assert f"is {status}" in error["message"]
    assert refund_rows(app) == []


@pytest.mark.parametrize("payment_type", ["bank_transfer", "echannel", "cstore"])
def test_payment_types_midtrans_cannot_refund_are_refused_with_what_to_do(
    app, client, project, fake_midtrans, payment_type
):
    purchase_id = paid_payment(client, project, fake_midtrans, payment_type=payment_type)

    response = refund(client, project, purchase_id)

    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "refund_not_supported"
    assert "outside Midtrans" in error["message"]
    assert refund_rows(app) == [] and refund_calls(fake_midtrans) == []


@pytest.mark.parametrize(
    "answer",
    [
        Answer(200, {"status_code": "412", "status_message": "Merchant cannot modify"}),
        Answer(400, {"status_code": "400", "status_message": "Refund window has passed"}),
    ],
    ids=["4xx-in-body", "http-4xx"],
)
def test_a_refusal_by_midtrans_is_listed_as_failed_with_its_message(
    app, client, project, fake_midtrans, answer
):
    purchase_id = paid_payment(client, project, fake_midtrans)
    with app.app_context():
        configure_endpoint(project.project_id, SANDBOX, events=["refund.failed"])
    fake_midtrans.action_answers[f"{purchase_id}/refund"] = answer

    response = refund(client, project, purchase_id, amount=10000, reason="rusak")

    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "refund_refused"
    assert answer.body["status_message"] in error["message"]
    row = payment_row(app, purchase_id)
    assert (row["status"], row["refunded"]) == ("settlement", 0)
    [listed] = api_get(client, project, payment_url(purchase_id, "refunds")).get_json()["data"]
    assert listed["status"] == "failed"
    assert answer.body["status_message"] in listed["failure_message"]
    [event] = payloads(app, "refund.failed")
    assert (event["refund_id"], event["refund_amount"], event["reason"]) == (
        listed["refund_id"],
        10000,
        "rusak",
    )
    assert answer.body["status_message"] in event["failure_message"]
    # A failed refund takes nothing: the whole amount can still be refunded.
    fake_midtrans.action_answers.clear()
    assert refund(client, project, purchase_id).get_json()["amount"] == 75000


def test_a_timed_out_refund_is_pending_then_settled_by_the_check_without_a_second_refund(
    app, client, project, fake_midtrans
):
    purchase_id = paid_payment(client, project, fake_midtrans)
    app.config["MIDTRANS_ACTION_TIMEOUT_SECONDS"] = 0.3
    fake_midtrans.action_answers[f"{purchase_id}/refund"] = Answer(
        200, {"status_code": "200"}, delay=1.0
    )

    response = refund(client, project, purchase_id, amount=30000)

    assert response.status_code == 201
    pending = response.get_json()
    assert pending["status"] == "pending"
    assert payment_row(app, purchase_id)["status"] == "settlement"
    # Pending counts as taken.
    assert refund(client, project, purchase_id, amount=45001).status_code == 422
    # Midtrans did make it: Get Status lists it under our key.
    fake_midtrans.action_answers.clear()
    status = fake_midtrans.status_answers[purchase_id].body
    status.update(
        transaction_status="partial_refund",
        refund_amount="30000.00",
        refunds=[
            {
                "refund_chargeback_id": 7,
                "refund_amount": "30000.00",
                "refund_key": pending["refund_id"],
                "reason": "",
            }
        ],
    )
    with app.app_context():
        assert check_pending_refunds(now=_later()) == 1

    [row] = refund_rows(app)
    assert (row["status"], row["midtrans_refund_id"]) == ("succeeded", "7")
    payment = payment_row(app, purchase_id)
    assert (payment["status"], payment["refunded"]) == ("partial_refund", 30000)
    [event] = payloads(app, "payment.refunded")
    assert (event["refund_id"], event["refund_amount"]) == (pending["refund_id"], 30000)
    assert len(refund_calls(fake_midtrans)) == 1  # never sent twice


def test_a_pending_refund_midtrans_never_received_is_sent_again_under_the_same_key(
    app, client, project, fake_midtrans
):
    purchase_id = paid_payment(client, project, fake_midtrans)
    fake_midtrans.action_answers[f"{purchase_id}/refund"] = Answer(503, {"status_code": "503"})
    pending = refund(client, project, purchase_id, amount=5000).get_json()
    assert pending["status"] == "pending"

    fake_midtrans.action_answers.clear()
    with app.app_context():
        assert check_pending_refunds(now=_later()) == 1

    calls = refund_calls(fake_midtrans)
    assert [call["refund_key"] for call in calls] == [pending["refund_id"]] * 2
    assert refund_rows(app)[0]["status"] == "succeeded"
    assert payment_row(app, purchase_id)["refunded"] == 5000


def test_a_pending_refund_is_not_checked_before_its_time(app, client, project, fake_midtrans):
    purchase_id = paid_payment(client, project, fake_midtrans)
    fake_midtrans.action_answers[f"{purchase_id}/refund"] = Answer(503, {"status_code": "503"})
    refund(client, project, purchase_id, amount=5000)
    fake_midtrans.action_answers.clear()

    with app.app_context():
        assert check_pending_refunds() == 0

    assert refund_rows(app)[0]["status"] == "pending"


def test_midtrans_refund_notification_after_our_refund_is_the_same_refund(
    app, client, project, fake_midtrans
):
    purchase_id = paid_payment(client, project, fake_midtrans)
    made = refund(client, project, purchase_id, amount=25000).get_json()
    transaction = fake_midtrans.status_answers[purchase_id].body
    assert transaction["transaction_status"] == "partial_refund"

    # Midtrans then notifies; Get Status agrees (refund_amount "25000.00", our key listed).
    response = midtrans_moves(
        client,
        fake_midtrans,
        purchase_id,
        "partial_refund",
        refund_amount="25000.00",
        refunds=transaction["refunds"],
    )

    assert response.status_code == 200
    assert len(payloads(app, "payment.refunded")) == 1
    assert payment_row(app, purchase_id)["refunded"] == 25000
    [row] = refund_rows(app)
    assert (row["id"], row["status"]) == (made["refund_id"], "succeeded")


def test_a_notification_of_a_refund_still_pending_settles_it(app, client, project, fake_midtrans):
    purchase_id = paid_payment(client, project, fake_midtrans)
    fake_midtrans.action_answers[f"{purchase_id}/refund"] = Answer(503, {"status_code": "503"})
    pending = refund(client, project, purchase_id).get_json()

    midtrans_moves(
        client,
        fake_midtrans,
        purchase_id,
        "refund",
        refund_amount="75000.00",
        refunds=[{"refund_key": pending["refund_id"], "refund_amount": "75000.00"}],
    )

    assert refund_rows(app)[0]["status"] == "succeeded"
    [event] = payloads(app, "payment.refunded")
    assert (event["refund_id"], event["refunded_amount"]) == (pending["refund_id"], 75000)


def test_a_refund_keeps_its_answer_under_an_idempotency_key(app, client, project, fake_midtrans):
    purchase_id = paid_payment(client, project, fake_midtrans)
    headers = {**project.auth(), "Idempotency-Key": "refund-INV-1"}
    url = payment_url(purchase_id, "refunds")

    first = client.post(url, json={"amount": 1000}, headers=headers)
    again = client.post(url, json={"amount": 1000}, headers=headers)

    assert first.status_code == again.status_code == 201
    assert again.get_data() == first.get_data()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert len(refund_rows(app)) == 1 and len(refund_calls(fake_midtrans)) == 1
    other = client.post(url, json={"amount": 2000}, headers=headers)
    assert other.get_json()["error"]["code"] == "idempotency_key_reused"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"amount": 0}, "amount"),
        ({"amount": "1000"}, "amount"),
        ({"amount": 10.5}, "amount"),
        ({"reason": "x" * 256}, "reason"),
        ({"reason": 5}, "reason"),
        ({"refund_key": "mine"}, "refund_key"),
    ],
)
def test_malformed_refund_bodies_are_refused_before_anything_happens(
    app, client, project, fake_midtrans, body, field
):
    purchase_id = paid_payment(client, project, fake_midtrans)

    response = refund(client, project, purchase_id, **body)

    assert response.status_code == 400
    assert response.get_json()["error"]["field"] == field
    assert refund_rows(app) == [] and refund_calls(fake_midtrans) == []


def test_a_refund_by_order_id_and_of_another_tenant(app, client, project, strangers, fake_midtrans):
    purchase_id = paid_payment(client, project, fake_midtrans, order_id="INV-77")

    assert refund(client, strangers, purchase_id).status_code == 404
    assert refund(client, strangers, "INV-77").status_code == 404
    assert refund(client, project, purchase_id, environment="production").status_code == 404
    assert api_get(client, strangers, payment_url(purchase_id, "refunds")).status_code == 404
    assert refund_rows(app) == []

    assert refund(client, project, "INV-77", amount=100).status_code == 201


def test_refunds_are_stored_with_who_asked(app, client, project, fake_midtrans):
    purchase_id = paid_payment(client, project, fake_midtrans)
    refund(client, project, purchase_id, amount=100)

    with app.app_context():
        stored = db.session.query(Refund).one()
        payment = db.session.get(Payment, stored.payment_id)
        assert (stored.requested_by, payment.purchase_id) == ("api", purchase_id)
        assert stored.project_id == project.project_id
        raw = json.loads(
            [e for e in payment_events(payment.id) if e.source == "refund"][0].raw_body
        )
        assert raw["refund_key"] == stored.id


def payment_events(payment_id: int) -> list[PaymentEvent]:
    return db.session.query(PaymentEvent).filter_by(payment_id=payment_id).all()


def _later():
    return utcnow() + timedelta(minutes=2)
