"""The built-in Midtrans simulator, driven end to end over real HTTP."""

from __future__ import annotations

import pytest
import requests
from sqlalchemy import select

from app.config import SIMULATOR_SERVER_KEY
from app.extensions import db
from app.models import PaymentEvent
from tests.helpers import CHECKOUT_URL, SNAP, VERIFY_URL, checkout_body, csrf_token_in

SIM = "/_simulator/midtrans"

pytestmark = pytest.mark.usefixtures("midtrans_simulator")


@pytest.fixture
def checkout(live_server, project):
    def create(**fields) -> dict:
        response = requests.post(
            f"{live_server}{CHECKOUT_URL}",
            json=checkout_body(project, **fields),
            timeout=15,
        )
        assert response.status_code == 201, response.text
        return response.json()

    return create


def open_payment_page(invoice_url: str) -> tuple[requests.Session, str, str]:
    """Follow invoice_url to the simulated Midtrans page like a browser: (session, url, csrf)."""
    browser = requests.Session()
    page = browser.get(invoice_url, timeout=15)
    assert page.status_code == 200
    assert f"{SIM}/snap/v4/redirection/" in page.url
    return browser, page.url, csrf_token_in(page)


def pay(invoice_url: str, outcome: str, method: str = "bank_transfer") -> requests.Response:
    browser, url, token = open_payment_page(invoice_url)
    return browser.post(
        url,
        data={"csrf_token": token, "outcome": outcome, "method": method},
        allow_redirects=False,
        timeout=30,
    )


def verify(live_server: str, purchase_id: str) -> dict:
    return requests.get(
        f"{live_server}{VERIFY_URL}",
        params={"order_id": purchase_id},
        timeout=10,
    ).json()


def test_paying_on_the_simulated_page_settles_through_signed_notifications(
    app, live_server, checkout
):
    created = checkout()

    answer = pay(created["invoice_url"], "pay")

    assert answer.status_code == 303
    assert answer.headers["Location"] == (
        f"{live_server}/purchase/callback?order_id={created['purchase_id']}"
        "&status_code=200&transaction_status=settlement"
    )
    status = verify(live_server, created["purchase_id"])
    assert status["status"] == "settlement" and status["paid_at"] is not None
    with app.app_context():
        outcomes = db.session.scalars(select(PaymentEvent.outcome).order_by(PaymentEvent.id)).all()
    # "pending" when the method is chosen (it confirms what the payment already is), then
    # "settlement".
    assert outcomes == ["confirmed", "applied"]
    callback = requests.get(answer.headers["Location"], timeout=10)
    assert "Pembayaran berhasil" in callback.text


@pytest.mark.parametrize(
    ("outcome", "method", "status"),
    [
        ("pay", "credit_card", "settlement"),  # capture + accept
        ("deny", "credit_card", "cancel"),
        ("expire", "bank_transfer", "expire"),
        ("pending", "gopay", "pending"),
    ],
)
def test_every_outcome_reaches_the_mapped_status(live_server, checkout, outcome, method, status):
    created = checkout()
    assert pay(created["invoice_url"], outcome, method).status_code == 303
    assert verify(live_server, created["purchase_id"])["status"] == status


def test_a_final_payment_page_cannot_be_paid_again(live_server, checkout):
    created = checkout()
    pay(created["invoice_url"], "pay")
    response = requests.get(created["invoice_url"], allow_redirects=False, timeout=10)
    # Once final, the invoice URL leads to our own status page, not to Midtrans.
    assert response.headers["Location"].endswith(
        f"/purchase/callback?order_id={created['purchase_id']}"
    )


def test_snap_refuses_a_wrong_server_key_like_midtrans(live_server):
    response = requests.post(
        f"{live_server}{SIM}{SNAP}",
        json={"transaction_details": {"order_id": "o-1", "gross_amount": 1000}},
        auth=("SB-Mid-server-wrong", ""),
        timeout=10,
    )
    assert response.status_code == 401
    assert "Access denied" in response.json()["error_messages"][0]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "transaction_details.order_id is required"),
        (
            {
                "transaction_details": {"order_id": "o-1", "gross_amount": 1000},
                "item_details": [{"id": "a", "name": "A", "price": 900, "quantity": 1}],
            },
            "transaction_details.gross_amount is not equal to the sum of item_details",
        ),
        (
            {"transaction_details": {"order_id": "bad order#", "gross_amount": 1000}},
            "transaction_details.order_id must be at most 50 characters",
        ),
    ],
)
def test_snap_validates_like_midtrans(live_server, body, message):
    response = requests.post(
        f"{live_server}{SIM}{SNAP}",
        json=body,
        auth=(SIMULATOR_SERVER_KEY, ""),
        timeout=10,
    )
    assert response.status_code == 400
    assert response.json()["error_messages"][0].startswith(message)


def test_a_paid_order_id_cannot_be_reused(live_server, checkout):
    created = checkout()
    pay(created["invoice_url"], "pay")
    response = requests.post(
        f"{live_server}{SIM}{SNAP}",
        json={"transaction_details": {"order_id": created["purchase_id"], "gross_amount": 75000}},
        auth=(SIMULATOR_SERVER_KEY, ""),
        timeout=10,
    )
    assert response.status_code == 400
    assert "has been paid and utilized" in response.json()["error_messages"][0]


def test_get_status_speaks_midtrans(live_server, checkout):
    created = checkout()
    url = f"{live_server}{SIM}/v2/{created['purchase_id']}/status"

    before = requests.get(url, auth=(SIMULATOR_SERVER_KEY, ""), timeout=10)
    pay(created["invoice_url"], "expire")
    after = requests.get(url, auth=(SIMULATOR_SERVER_KEY, ""), timeout=10)
    unauthorized = requests.get(url, auth=("nope", ""), timeout=10)

    # No method chosen yet: HTTP 200 with a "404" in the body, as Midtrans answers.
    assert before.status_code == 200 and before.json()["status_code"] == "404"
    assert after.json()["transaction_status"] == "expire"
    assert after.json()["status_code"] == "407"
    assert after.json()["gross_amount"] == "75000.00"
    assert unauthorized.status_code == 401


def test_flask_midtrans_notify_sends_a_signed_notification(app, live_server, checkout):
    created = checkout(order_id="INV-CLI-1")

    result = app.test_cli_runner().invoke(args=["midtrans", "notify", "INV-CLI-1", "settlement"])

    assert result.exit_code == 0, result.output
    assert '"status": 200' in result.output
    assert verify(live_server, created["purchase_id"])["status"] == "settlement"
    refund = app.test_cli_runner().invoke(
        args=["midtrans", "notify", created["purchase_id"], "refund"]
    )
    assert refund.exit_code == 0, refund.output
    assert verify(live_server, created["purchase_id"])["status"] == "refund"


def test_flask_midtrans_notify_rejects_unknown_payments_and_statuses(app, live_server):
    runner = app.test_cli_runner()
    unknown = runner.invoke(args=["midtrans", "notify", "pur_nothing", "settlement"])
    bad_status = runner.invoke(args=["midtrans", "notify", "pur_nothing", "paid"])
    assert unknown.exit_code != 0 and "no payment" in unknown.output
    assert bad_status.exit_code != 0 and "transaction_status must be one of" in bad_status.output


def test_flask_midtrans_notify_refuses_to_run_in_production(app, live_server, checkout):
    # It signs with the environment's server key: in production that would forge real money.
    created = checkout(order_id="INV-CLI-2")
    app.config["LUNAS_ENV"] = "production"

    result = app.test_cli_runner().invoke(args=["midtrans", "notify", "INV-CLI-2", "settlement"])

    assert result.exit_code != 0
    assert "LUNAS_ENV=production" in result.output
    assert verify(live_server, created["purchase_id"])["status"] == "pending"
