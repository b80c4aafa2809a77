"""The create options of SPEC §11.1 (buyer_phone, expires_in_minutes, enabled_payments,
return_url, webhook_url) and the payment_channel Midtrans reports."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.extensions import db
from app.models import Payment
from tests.helpers import (
    CHECKOUT_URL,
    SNAP,
    VERIFY_URL,
    checkout_body,
    create_checkout,
    payment_row,
    payment_rows,
)
from tests.receiver import MerchantReceiver
from tests.webhook_flow import (
    attempt_delivery,
    delivery_rows,
    payloads,
    point_webhooks_at,
    settle,
    signing_secret,
)


def snap_request(fake_midtrans) -> dict:
    [call] = fake_midtrans.calls("POST", SNAP)
    return call.body


def refused(client, project, **fields):
    response = client.post(CHECKOUT_URL, json=checkout_body(project, **fields))
    assert response.status_code == 400, response.get_json()
    return response.get_json()["error"]


# -- buyer_phone -------------------------------------------------------------------------------


def test_buyer_phone_goes_to_midtrans_and_into_item_purchased(app, client, project, fake_midtrans):
    point_webhooks_at(app, project, "https://hooks.merchant.example/lunas")
    purchase_id = create_checkout(client, project, buyer_phone="+62 812-3456-7890")["purchase_id"]

    assert snap_request(fake_midtrans)["customer_details"]["phone"] == "+62 812-3456-7890"
    settle(client, fake_midtrans, purchase_id)
    [payload] = payloads(app)
    assert payload["buyer_phone"] == "+62 812-3456-7890"


def test_without_a_phone_midtrans_gets_none_and_the_event_says_null(
    app, client, project, fake_midtrans
):
    point_webhooks_at(app, project, "https://hooks.merchant.example/lunas")
    purchase_id = create_checkout(client, project)["purchase_id"]

    assert "phone" not in snap_request(fake_midtrans)["customer_details"]
    settle(client, fake_midtrans, purchase_id)
    assert payloads(app)[0]["buyer_phone"] is None


@pytest.mark.parametrize(
    "phone", ["0812345", "0812 3456 7890 1234 5", "0812-abc-999", "(021) 555-0100", 812345678]
)
def test_a_bad_phone_is_400_naming_it(app, client, project, fake_midtrans, phone):
    error = refused(client, project, buyer_phone=phone)

    assert error["field"] == "buyer_phone"
    assert payment_rows(app) == []
    assert fake_midtrans.calls("POST", SNAP) == []


# -- expires_in_minutes ------------------------------------------------------------------------


@pytest.mark.parametrize("minutes", [5, 90, 10080])
def test_expires_in_minutes_sets_snap_expiry_and_expires_at(
    app, client, project, fake_midtrans, minutes
):
    purchase_id = create_checkout(client, project, expires_in_minutes=minutes)["purchase_id"]

    expiry = snap_request(fake_midtrans)["expiry"]
    assert (expiry["unit"], expiry["duration"]) == ("minute", minutes)
    row = payment_row(app, purchase_id)
    assert row["expires_at"] - row["created_at"] == timedelta(minutes=minutes)


def test_without_it_the_configured_default_applies(app, client, project, fake_midtrans):
    app.config["CHECKOUT_EXPIRY_MINUTES"] = 45
    create_checkout(client, project)

    assert snap_request(fake_midtrans)["expiry"]["duration"] == 45


@pytest.mark.parametrize("minutes", [4, 10081, 0, -5, "60", 60.0, True])
def test_expires_in_minutes_out_of_midtrans_range_is_400(
    app, client, project, fake_midtrans, minutes
):
    error = refused(client, project, expires_in_minutes=minutes)

    assert error["field"] == "expires_in_minutes"
    assert "5 to 10080" in error["message"]
    assert payment_rows(app) == []


# -- enabled_payments --------------------------------------------------------------------------


def test_enabled_payments_are_passed_to_snap_with_qris_under_its_snap_name(
    client, project, fake_midtrans
):
    create_checkout(client, project, enabled_payments=["qris", "bca_va", "gopay", "other_qris"])

    assert snap_request(fake_midtrans)["enabled_payments"] == ["other_qris", "bca_va", "gopay"]


def test_without_enabled_payments_snap_offers_its_own_list(client, project, fake_midtrans):
    create_checkout(client, project)

    assert "enabled_payments" not in snap_request(fake_midtrans)


@pytest.mark.parametrize(
    ("value", "named"),
    [(["gopay", "bitcoin"], "'bitcoin'"), ([], "at least one"), ("gopay", None), ([7], None)],
    ids=["unknown-name", "empty", "not-a-list", "not-strings"],
)
def test_bad_enabled_payments_are_400_naming_the_problem(
    app, client, project, fake_midtrans, value, named
):
    error = refused(client, project, enabled_payments=value)

    assert error["field"] == "enabled_payments"
    if named:
        assert named in error["message"]
    assert payment_rows(app) == []


# -- return_url --------------------------------------------------------------------------------


def test_return_url_comes_before_the_store_template_in_verify_and_on_the_buyer_page(
    app, client, project, fake_midtrans
):
    created = create_checkout(
        client,
        project,
        return_url="https://shop.example/thanks?order=order-1",
        metadata={"store_slug": "warung"},
    )
    with app.app_context():
        payment = db.session.get(Payment, payment_row(app, created["purchase_id"])["id"])
        payment.status = "settlement"
        db.session.commit()

    verify = client.get(VERIFY_URL, query_string={"order_id": created["purchase_id"]}).get_json()
    page = client.get("/purchase/callback", query_string={"order_id": created["purchase_id"]})

    assert verify["redirect_url"] == "https://shop.example/thanks?order=order-1"
    assert b"shop.example" in page.get_data()
    assert b"karejo.example" not in page.get_data()


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "/relative/thanks",
        "ftp://shop.example/",
        "https://user@shop.example/",
        "https://shop.example/" + "a" * 490,
        "https://shop.example/with space",
    ],
)
def test_a_bad_return_url_is_400(app, client, project, fake_midtrans, url):
    error = refused(client, project, return_url=url)

    assert error["field"] == "return_url"
    assert payment_rows(app) == []


def test_return_url_must_be_https_in_production(app, client, project, fake_midtrans):
    app.config["LUNAS_ENV"] = "production"
    error = refused(client, project, return_url="http://shop.example/thanks")
    assert "https" in error["message"]

    app.config["LUNAS_ENV"] = "development"
    create_checkout(client, project, return_url="http://shop.example/thanks")


# -- webhook_url -------------------------------------------------------------------------------


def test_a_checkouts_webhook_url_gets_its_events_signed_with_the_projects_secret(
    app, client, project, fake_midtrans
):
    with MerchantReceiver() as project_receiver, MerchantReceiver() as checkout_receiver:
        point_webhooks_at(app, project, project_receiver.url)
        purchase_id = create_checkout(
            client, project, webhook_url=checkout_receiver.url + "/orders/1"
        )["purchase_id"]
        settle(client, fake_midtrans, purchase_id)
        [delivery] = delivery_rows(app)

        assert attempt_delivery(app, delivery["id"]) == "delivered"

        [received] = checkout_receiver.wait_for(1)
        assert project_receiver.received == []
    assert received.path.endswith("/orders/1")
    assert received.verify(signing_secret(app, project))["purchase_id"] == purchase_id


def test_a_checkouts_webhook_url_needs_no_project_url(app, client, project, fake_midtrans):
    purchase_id = create_checkout(
        client, project, webhook_url="https://hooks.merchant.example/one-order"
    )["purchase_id"]

    settle(client, fake_midtrans, purchase_id)

    [delivery] = delivery_rows(app)
    assert delivery["status"] == "pending"  # not waiting for an endpoint URL
    assert delivery["url"] == "https://hooks.merchant.example/one-order"


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8080/hook", "http://[::1]/hook", "http://169.254.169.254/latest"]
)
def test_a_checkout_webhook_url_at_a_private_address_is_400_when_the_guard_is_on(
    app, client, project, fake_midtrans, url
):
    app.config["WEBHOOK_ALLOW_PRIVATE_TARGETS"] = False

    error = refused(client, project, webhook_url=url)

    assert error["field"] == "webhook_url"
    assert payment_rows(app) == []


# -- payment_channel ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payment_type", "fields", "channel"),
    [
        ("bank_transfer", {"va_numbers": [{"bank": "bni", "va_number": "8578000"}]}, "bni"),
        ("bank_transfer", {"permata_va_number": "8562000"}, "permata"),
        ("echannel", {"bill_key": "123", "biller_code": "70012"}, "mandiri"),
        ("cstore", {"store": "indomaret", "payment_code": "25709"}, "indomaret"),
        ("qris", {"issuer": "gopay", "acquirer": "airpay shopee"}, "gopay"),
        ("qris", {"acquirer": "gopay"}, "gopay"),
        ("credit_card", {"bank": "bni", "masked_card": "48111111-1114"}, "bni"),
        ("gopay", {}, None),
    ],
)
def test_payment_channel_is_recorded_and_sent_beside_payment_type(
    app, client, project, fake_midtrans, payment_type, fields, channel
):
    point_webhooks_at(app, project, "https://hooks.merchant.example/lunas")
    purchase_id = create_checkout(client, project)["purchase_id"]

    settle(client, fake_midtrans, purchase_id, payment_type=payment_type, **fields)

    [payload] = payloads(app)
    assert (payload["payment_type"], payload["payment_channel"]) == (payment_type, channel)
    assert payment_row(app, purchase_id)["payment_channel"] == channel
