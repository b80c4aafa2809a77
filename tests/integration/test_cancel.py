"""Cancelling a pending checkout (SPEC §11.3): ended at Midtrans first (cancel for cards,
expire for the other methods), here only when Midtrans has no transaction yet, nothing changed
when Midtrans fails, and money Midtrans confirms afterwards still applied."""

from __future__ import annotations

import pytest

from app.models import PaymentEvent
from tests.fakes import Answer
from tests.helpers import ISO_Z, MERCHANT_URL, create_payment, payment_row, set_status, table_rows
from tests.merchant_api import api_get, api_post, payment_url
from tests.webhook_flow import midtrans_moves, payloads, point_webhooks_at


@pytest.fixture(autouse=True)
def webhooks_on(app, project):
    point_webhooks_at(app, project, MERCHANT_URL)


def cancel(client, project, reference: str, environment: str = "sandbox"):
    return api_post(client, project, payment_url(reference, "cancel"), None, environment)


def actions(fake) -> list[str]:
    return [call.path.rsplit("/", 2)[-1] for call in fake.calls("POST", "/v2/")]


def subscribe(client, project, *events: str) -> None:
    response = client.patch(
        "/api/platform/webhook", json={"events": list(events)}, headers=project.auth()
    )
    assert response.status_code == 200, response.get_json()


def test_a_checkout_no_method_was_chosen_for_is_cancelled_here_and_the_invoice_stops(
    app, client, project, fake_midtrans, purchase_id
):
    response = cancel(client, project, purchase_id)

    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["status"] == "cancel" and ISO_Z.match(body["cancelled_at"])
    assert actions(fake_midtrans) == ["expire"]  # asked; Midtrans had nothing
    assert payment_row(app, purchase_id)["status"] == "cancel"
    # The buyer's invoice link no longer leads to Midtrans.
    invoice = client.get(f"/pay/{purchase_id}")
    assert invoice.status_code == 302
    assert invoice.headers["Location"].startswith("/purchase/callback")


def test_a_bank_transfer_waiting_for_money_is_expired_at_midtrans_first(
    app, client, project, fake_midtrans, purchase_id
):
    midtrans_moves(client, fake_midtrans, purchase_id, "pending", payment_type="bank_transfer")

    response = cancel(client, project, purchase_id)

    assert response.status_code == 200
    assert actions(fake_midtrans) == ["expire"]
    assert fake_midtrans.status_answers[purchase_id].body["transaction_status"] == "expire"
    assert payment_row(app, purchase_id)["status"] == "cancel"


def test_a_card_payment_is_cancelled_at_midtrans(app, client, project, fake_midtrans, purchase_id):
    midtrans_moves(client, fake_midtrans, purchase_id, "pending", payment_type="credit_card")

    assert cancel(client, project, purchase_id).status_code == 200

    assert actions(fake_midtrans) == ["cancel"]
    assert payment_row(app, purchase_id)["status"] == "cancel"


@pytest.mark.parametrize(
    "answer",
    [
        Answer(500, {"status_code": "500", "status_message": "internal error"}),
        Answer(200, {"status_code": "412", "status_message": "Merchant cannot modify"}),
    ],
)
def test_when_midtrans_fails_the_cancel_nothing_changes(
    app, client, project, fake_midtrans, purchase_id, answer
):
    midtrans_moves(client, fake_midtrans, purchase_id, "pending", payment_type="bank_transfer")
    fake_midtrans.action_answers[f"{purchase_id}/expire"] = answer

    response = cancel(client, project, purchase_id)

    assert response.status_code == 502
    assert response.get_json()["error"]["code"] == "upstream_error"
    row = payment_row(app, purchase_id)
    assert (row["status"], row["cancelled_at"]) == ("pending", None)
    assert payloads(app) == []


def test_midtrans_timing_out_is_an_upstream_error_and_nothing_changes(
    app, client, project, fake_midtrans, purchase_id
):
    app.config["MIDTRANS_ACTION_TIMEOUT_SECONDS"] = 0.3
    fake_midtrans.action_answers[f"{purchase_id}/expire"] = Answer(200, {}, delay=1.0)

    response = cancel(client, project, purchase_id)

    assert response.status_code == 502
    assert payment_row(app, purchase_id)["status"] == "pending"


@pytest.mark.parametrize("status", ["settlement", "expire", "cancel", "refund", "partial_refund"])
def test_only_a_pending_checkout_can_be_cancelled(
    app, client, project, fake_midtrans, purchase_id, status
):
    set_status(app, purchase_id, status)

    response = cancel(client, project, purchase_id)

    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["code"] == "invalid_state" and status in error["message"]
    assert actions(fake_midtrans) == []


def test_midtrans_own_expire_notification_after_the_cancel_changes_nothing(
    app, client, project, fake_midtrans, purchase_id
):
    midtrans_moves(client, fake_midtrans, purchase_id, "pending", payment_type="bank_transfer")
    cancel(client, project, purchase_id)

    notified = midtrans_moves(client, fake_midtrans, purchase_id, "expire")

    assert notified.status_code == 200
    assert payment_row(app, purchase_id)["status"] == "cancel"


def test_money_midtrans_confirms_after_a_cancel_is_still_applied(
    app, client, project, fake_midtrans, purchase_id
):
    cancel(client, project, purchase_id)

    # The buyer had the Snap page open and paid anyway.
    midtrans_moves(client, fake_midtrans, purchase_id, "settlement", payment_type="qris")

    row = payment_row(app, purchase_id)
    assert row["status"] == "settlement" and row["paid_at"] is not None
    [purchased] = payloads(app, "item.purchased")
    assert purchased["purchase_id"] == purchase_id


def test_payment_cancelled_goes_only_to_an_endpoint_that_subscribed(
    app, client, project, fake_midtrans
):
    first = create_payment(client, project, order_id="A")
    cancel(client, project, first)
    assert payloads(app, "payment.cancelled") == []

    subscribe(client, project, "item.purchased", "payment.cancelled")
    second = create_payment(client, project, order_id="B")
    cancel(client, project, second)

    [event] = payloads(app, "payment.cancelled")
    assert (event["purchase_id"], event["status"]) == (second, "cancel")
    assert ISO_Z.match(event["changed_at"])


def test_a_cancel_is_on_the_payment_timeline(app, client, project, fake_midtrans, purchase_id):
    cancel(client, project, purchase_id)

    [event] = table_rows(app, PaymentEvent, PaymentEvent.source == "cancel")
    assert "cancelled by api" in event["detail"]


def test_a_cancel_keeps_its_answer_under_an_idempotency_key(
    app, client, project, fake_midtrans, purchase_id
):
    path = payment_url(purchase_id, "cancel")
    first = api_post(client, project, path, None, key="cancel-1")
    again = api_post(client, project, path, None, key="cancel-1")

    assert first.status_code == again.status_code == 200
    assert again.data == first.data and again.headers["Idempotent-Replayed"] == "true"
    assert actions(fake_midtrans) == ["expire"]
    # Without the key, a second cancel says what happened.
    assert cancel(client, project, purchase_id).status_code == 409
    assert api_get(client, project, payment_url(purchase_id)).get_json()["status"] == "cancel"
