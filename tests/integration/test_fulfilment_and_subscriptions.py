"""Fulfilment (SPEC §11.5) and the event subscriptions of §11.6: the merchant says what became
of the order, and chooses which events each endpoint receives (Part I's on by default)."""

from __future__ import annotations

import pytest

from app.models import PaymentEvent
from tests.fakes import Answer
from tests.helpers import (
    ISO_Z,
    MERCHANT_URL,
    create_payment,
    payment_row,
    set_status,
    soup,
    table_rows,
    text_of,
)
from tests.merchant_api import api_get, api_post, paid_payment, payment_url, refund
from tests.portal_client import log_in, post_with_token
from tests.webhook_flow import delivery_rows, payloads, point_webhooks_at

PART_ONE = ["item.purchased", "payment.refunded", "payment.reversed"]


@pytest.fixture(autouse=True)
def webhooks_on(app, project):
    point_webhooks_at(app, project, MERCHANT_URL)


def fulfil(client, project, reference: str, status: str, environment: str = "sandbox"):
    return api_post(
        client, project, payment_url(reference, "fulfilment"), {"status": status}, environment
    )


def patch_webhook(client, project, body, environment: str = "sandbox"):
    return client.patch("/api/platform/webhook", json=body, headers=project.auth(environment))


# -- fulfilment --------------------------------------------------------------------------------


def test_a_paid_order_marked_completed_is_final_and_told_to_a_subscriber(
    app, client, project, fake_midtrans
):
    patch_webhook(client, project, {"events": [*PART_ONE, "order.completed"]})
    purchase_id = paid_payment(client, project, fake_midtrans)

    response = fulfil(client, project, purchase_id, "completed")

    assert response.status_code == 200, response.get_json()
    assert response.get_json()["fulfilment_status"] == "completed"
    assert response.get_json()["purchase_id"] == purchase_id
    [event] = payloads(app, "order.completed")
    assert (event["fulfilment_status"], event["status"]) == ("completed", "settlement")
    assert ISO_Z.match(event["changed_at"])
    # The same value again: 200, nothing new.
    assert fulfil(client, project, purchase_id, "completed").status_code == 200
    assert len(payloads(app, "order.completed")) == 1
    # Final: it cannot become cancelled.
    again = fulfil(client, project, purchase_id, "cancelled")
    assert again.status_code == 409
    assert again.get_json()["error"]["code"] == "invalid_state"
    assert payment_row(app, purchase_id)["fulfilment_status"] == "completed"
    [entry] = table_rows(app, PaymentEvent, PaymentEvent.source == "fulfilment")
    assert "order completed by api" in entry["detail"]


def test_a_partly_refunded_order_can_still_be_completed(app, client, project, fake_midtrans):
    purchase_id = paid_payment(client, project, fake_midtrans)
    refund(client, project, purchase_id, amount=1000)

    assert fulfil(client, project, purchase_id, "completed").status_code == 200


@pytest.mark.parametrize("status", ["pending", "expire", "cancel", "refund"])
def test_completed_needs_the_money_in(app, client, project, fake_midtrans, purchase_id, status):
    set_status(app, purchase_id, status)

    response = fulfil(client, project, purchase_id, "completed")

    assert response.status_code == 409
    assert status in response.get_json()["error"]["message"]
    assert payment_row(app, purchase_id)["fulfilment_status"] == "unfulfilled"


def test_any_order_can_be_cancelled_once_and_that_is_final(app, client, project, purchase_id):
    patch_webhook(client, project, {"events": ["order.cancelled"]})

    assert fulfil(client, project, purchase_id, "cancelled").status_code == 200
    assert fulfil(client, project, purchase_id, "completed").status_code == 409

    [event] = payloads(app, "order.cancelled")
    assert (event["fulfilment_status"], event["status"]) == ("cancelled", "pending")


@pytest.mark.parametrize(
    "body", [{}, {"status": "shipped"}, {"status": "unfulfilled"}, {"status": 1}]
)
def test_a_bad_fulfilment_is_refused_by_field(app, client, project, purchase_id, body):
    response = api_post(client, project, payment_url(purchase_id, "fulfilment"), body)

    assert response.status_code == 400
    assert response.get_json()["error"]["field"] == "status"
    assert payment_row(app, purchase_id)["fulfilment_status"] == "unfulfilled"


# -- subscriptions -----------------------------------------------------------------------------


def test_part_one_events_are_on_by_default_and_the_new_ones_opt_in(
    app, client, project, fake_midtrans
):
    purchase_id = paid_payment(client, project, fake_midtrans)
    fulfil(client, project, purchase_id, "completed")

    assert [row["event_type"] for row in delivery_rows(app)] == ["item.purchased"]
    account = api_get(client, project, "/api/platform/account").get_json()
    assert account["webhook"] == {"url": MERCHANT_URL, "events": PART_ONE}


def test_patch_webhook_sets_events_and_url_and_account_shows_them(app, client, project):
    response = patch_webhook(
        client,
        project,
        {"url": "https://hooks.example.com/lunas", "events": ["refund.failed", "item.purchased"]},
    )

    assert response.status_code == 200, response.get_json()
    # Given in any order, answered in the documented one.
    expected = {
        "url": "https://hooks.example.com/lunas",
        "events": ["item.purchased", "refund.failed"],
    }
    assert response.get_json() == expected
    assert api_get(client, project, "/api/platform/account").get_json()["webhook"] == expected
    # Events alone leave the URL; the other environment is untouched.
    assert patch_webhook(client, project, {"events": []}).get_json() == {
        "url": "https://hooks.example.com/lunas",
        "events": [],
    }
    other = api_get(client, project, "/api/platform/account", "production").get_json()
    assert other["webhook"]["events"] == PART_ONE


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"events": ["item.purchased", "payment.teleported"]}, "events"),
        ({"events": "item.purchased"}, "events"),
        ({"url": "http://169.254.169.254/latest/meta-data"}, "url"),
        ({"url": "ftp://hooks.example.com", "events": ["test.ping"]}, "url"),
    ],
)
def test_a_bad_webhook_setting_is_refused_and_changes_nothing(app, client, project, body, field):
    app.config["WEBHOOK_ALLOW_PRIVATE_TARGETS"] = False  # as in production
    response = patch_webhook(client, project, body)

    assert response.status_code == 400
    assert response.get_json()["error"]["field"] == field
    account = api_get(client, project, "/api/platform/account").get_json()
    assert account["webhook"] == {"url": MERCHANT_URL, "events": PART_ONE}


def test_an_unsubscribed_part_one_event_is_not_recorded(app, client, project, fake_midtrans):
    patch_webhook(client, project, {"events": ["payment.refunded"]})

    purchase_id = paid_payment(client, project, fake_midtrans)
    refund(client, project, purchase_id, amount=1000)

    assert [row["event_type"] for row in delivery_rows(app)] == ["payment.refunded"]


def test_refund_failed_carries_the_refund_and_midtrans_message(app, client, project, fake_midtrans):
    patch_webhook(client, project, {"events": [*PART_ONE, "refund.failed"]})
    purchase_id = paid_payment(client, project, fake_midtrans)
    fake_midtrans.action_answers[f"{purchase_id}/refund"] = Answer(
        200, {"status_code": "412", "status_message": "Refund is not allowed yet"}
    )

    answer = refund(client, project, purchase_id, amount=5000, reason="rusak").get_json()

    assert answer["error"]["code"] == "refund_refused"
    [event] = payloads(app, "refund.failed")
    assert (event["refund_amount"], event["reason"]) == (5000, "rusak")
    assert event["refund_id"].startswith("rfd_")
    assert "Refund is not allowed yet" in event["failure_message"]
    assert event["status"] == "settlement"


def test_the_new_events_are_sent_with_a_checkouts_own_webhook_url(
    app, client, project, fake_midtrans
):
    patch_webhook(client, project, {"events": ["payment.cancelled"]})
    purchase_id = create_payment(client, project, webhook_url="https://orders.example.com/hook")

    api_post(client, project, payment_url(purchase_id, "cancel"))

    [row] = delivery_rows(app)
    assert (row["event_type"], row["url"]) == (
        "payment.cancelled",
        "https://orders.example.com/hook",
    )


# -- the portal's checkboxes -------------------------------------------------------------------


def test_the_portal_shows_and_saves_the_event_types(client, project):
    log_in(client)
    page_url = f"/projects/{project.project_id}/webhooks"
    checked = [
        box["value"] for box in soup(client.get(page_url)).select("input[name=events]:checked")
    ]
    assert checked == PART_ONE

    saved = post_with_token(
        client, page_url + "/events", events=["payment.refunded", "order.completed"]
    )

    assert saved.status_code == 303
    page = soup(client.get(page_url))
    assert [box["value"] for box in page.select("input[name=events]:checked")] == [
        "payment.refunded",
        "order.completed",
    ]
    account = api_get(client, project, "/api/platform/account").get_json()
    assert account["webhook"]["events"] == ["payment.refunded", "order.completed"]
    # The production endpoint keeps its own.
    production = soup(client.get(page_url + "?env=production"))
    assert len(production.select("input[name=events]:checked")) == 3


def test_the_portal_refuses_an_unknown_event_type_and_keeps_the_old_ones(client, project):
    log_in(client)
    page_url = f"/projects/{project.project_id}/webhooks"

    post_with_token(client, page_url + "/events", events=["item.purchased", "bogus.event"])

    page = client.get(page_url)
    assert "Unknown event 'bogus.event'" in text_of(page)
    assert len(soup(page).select("input[name=events]:checked")) == 3
    assert post_with_token(client, page_url + "/events", token=False).status_code == 400
