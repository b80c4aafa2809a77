"""The simulator's refund, direct refund, cancel and expire (midtrans.md, "Refunds, cancel and
expire"), driven over real HTTP as `make run` has it: Midtrans's answers, the notification it
sends a moment later, and a refusal for a payment type Midtrans cannot refund."""

from __future__ import annotations

import time

import pytest
import requests

from app.config import SIMULATOR_SERVER_KEY
from app.extensions import db
from app.models import PaymentEvent
from tests.helpers import MERCHANT_URL, payment_row, wait_for_simulator_notifications
from tests.integration.test_simulator import SIM, pay
from tests.merchant_api import payment_url
from tests.webhook_flow import payloads, point_webhooks_at

pytestmark = pytest.mark.usefixtures("midtrans_simulator")


@pytest.fixture
def paid(live_server, project):
    """A checkout paid on the simulated page by `method`: its purchase_id. Afterwards, the
    notifications the simulator sends a moment after a change have reached this test's server
    (never the next test's database)."""

    def make(method: str = "qris", outcome: str = "pay", order_id: str = "INV-1") -> str:
        created = requests.post(
            f"{live_server}/api/platform/shop-payment",
            json={**project.body(), "amount": 75000, "order_id": order_id,
                  "buyer_email": "buyer@example.com"},
            timeout=15,
        ).json()  # fmt: skip
        assert pay(created["invoice_url"], outcome, method).status_code == 303
        return created["purchase_id"]

    yield make
    wait_for_simulator_notifications()


def midtrans(live_server: str, purchase_id: str, action: str, body=None) -> dict:
    url = f"{live_server}{SIM}/v2/{purchase_id}/{action}"
    auth = (SIMULATOR_SERVER_KEY, "")
    if action == "status":
        response = requests.get(url, auth=auth, timeout=10)
    else:
        response = requests.post(url, json=body, auth=auth, timeout=10)
    assert response.status_code == 200  # Midtrans puts the outcome in status_code
    return response.json()


def merchant(live_server: str, project, path: str, body=None) -> requests.Response:
    return requests.post(f"{live_server}{path}", json=body, auth=basic(project), timeout=30)


def basic(project) -> tuple[str, str]:
    return (project.sandbox_id, project.sandbox_secret)


def notifications(app, purchase_id: str, status: str, count: int = 1) -> list[str]:
    """The outcomes of the simulator's notifications of `status`, once `count` arrived."""
    deadline = time.monotonic() + 10
    while True:
        with app.app_context():
            found = [
                str(event.outcome)
                for event in db.session.scalars(
                    db.select(PaymentEvent).where(PaymentEvent.source == "notification")
                )
                if event.transaction_status == status and event.processed_at is not None
            ]
            db.session.rollback()
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def test_a_partial_refund_is_made_told_once_and_listed_by_get_status(
    app, live_server, project, paid
):
    point_webhooks_at(app, project, MERCHANT_URL)
    purchase_id = paid("qris")

    response = merchant(
        live_server, project, payment_url(purchase_id, "refunds"), {"amount": 25000}
    )

    assert response.status_code == 201, response.text
    made = response.json()
    assert made["status"] == "succeeded"
    status = midtrans(live_server, purchase_id, "status")
    assert (status["transaction_status"], status["refund_amount"]) == (
        "partial_refund",
        "25000.00",
    )
    assert [entry["refund_key"] for entry in status["refunds"]] == [made["refund_id"]]
    # Midtrans's own notification follows; it is the same refund, not a second one.
    assert notifications(app, purchase_id, "partial_refund") == ["duplicate"]
    assert len(payloads(app, "payment.refunded")) == 1
    assert payment_row(app, purchase_id)["refunded"] == 25000


def test_the_same_refund_key_again_is_the_same_refund(live_server, paid):
    purchase_id = paid("gopay")
    body = {"refund_key": "rfd_sim_key_1", "amount": 10000, "reason": "retry"}

    first = midtrans(live_server, purchase_id, "refund", body)
    again = midtrans(live_server, purchase_id, "refund", body)

    assert first["status_code"] == again["status_code"] == "200"
    assert first["refund_chargeback_id"] == again["refund_chargeback_id"]
    status = midtrans(live_server, purchase_id, "status")
    assert status["refund_amount"] == "10000.00" and len(status["refunds"]) == 1


def test_a_direct_refund_of_everything_makes_it_refund(live_server, paid):
    purchase_id = paid("qris")

    answer = midtrans(live_server, purchase_id, "refund/online/direct", {"refund_key": "k-2"})

    assert (answer["status_code"], answer["transaction_status"]) == ("200", "refund")
    assert answer["refund_amount"] == "75000.00"
    over = midtrans(live_server, purchase_id, "refund", {"refund_key": "k-3", "amount": 1})
    assert over["status_code"] == "412"


def test_more_than_what_remains_is_refused_as_midtrans_does(live_server, paid):
    purchase_id = paid("qris")

    answer = midtrans(live_server, purchase_id, "refund", {"refund_key": "k", "amount": 75001})

    assert answer["status_code"] == "414"
    assert "refunds" not in midtrans(live_server, purchase_id, "status")


def test_a_bank_transfer_cannot_be_refunded_at_midtrans_nor_through_lunas(
    app, live_server, project, paid
):
    purchase_id = paid("bank_transfer")

    direct = midtrans(live_server, purchase_id, "refund", {"refund_key": "k", "amount": 1000})
    through_lunas = merchant(live_server, project, payment_url(purchase_id, "refunds"), {})

    assert direct["status_code"] == "412" and "bank_transfer" in direct["status_message"]
    assert through_lunas.status_code == 422
    assert through_lunas.json()["error"]["code"] == "refund_not_supported"
    assert payment_row(app, purchase_id)["status"] == "settlement"


def test_cancelling_a_pending_va_expires_it_at_midtrans_and_its_notification_changes_nothing(
    app, live_server, project, paid
):
    purchase_id = paid("bank_transfer", outcome="pending")

    response = merchant(live_server, project, payment_url(purchase_id, "cancel"))

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "cancel"
    status = midtrans(live_server, purchase_id, "status")
    assert (status["transaction_status"], status["status_code"]) == ("expire", "407")
    assert len(notifications(app, purchase_id, "expire")) == 1
    assert payment_row(app, purchase_id)["status"] == "cancel"


def test_a_checkout_with_no_method_chosen_is_cancelled_locally(app, live_server, project):
    created = requests.post(
        f"{live_server}/api/platform/shop-payment",
        json={**project.body(), "amount": 5000, "order_id": "INV-2",
              "buyer_email": "buyer@example.com"},
        timeout=15,
    ).json()  # fmt: skip

    response = merchant(live_server, project, payment_url(created["purchase_id"], "cancel"))

    assert response.status_code == 200
    assert midtrans(live_server, created["purchase_id"], "expire")["status_code"] == "404"
    invoice = requests.get(created["invoice_url"], allow_redirects=False, timeout=10)
    assert "/purchase/callback" in invoice.headers["Location"]


def test_expire_after_settlement_is_refused(live_server, paid):
    purchase_id = paid("qris")

    assert midtrans(live_server, purchase_id, "expire")["status_code"] == "412"
    assert midtrans(live_server, purchase_id, "cancel")["status_code"] == "412"


def test_actions_need_the_server_key(live_server, paid):
    purchase_id = paid("qris")

    response = requests.post(
        f"{live_server}{SIM}/v2/{purchase_id}/refund", json={}, auth=("nope", ""), timeout=10
    )

    assert response.status_code == 401
