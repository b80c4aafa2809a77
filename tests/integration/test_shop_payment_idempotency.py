"""POST /api/platform/shop-payment is idempotent on (project, environment, order_id) (SPEC §3.1)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import requests
from sqlalchemy import select, update

from app.extensions import db
from app.models import Payment, PaymentStatus
from app.models.base import utcnow
from tests.fakes import Answer
from tests.helpers import checkout_body, new_project

URL = "/api/platform/shop-payment"
SNAP = "/snap/v1/transactions"


def stored_payments(app) -> list[dict]:
    with app.app_context():
        rows = db.session.scalars(select(Payment).order_by(Payment.id))
        return [
            {
                "purchase_id": row.purchase_id,
                "project_id": row.project_id,
                "environment": row.environment,
                "order_id": row.order_id,
                "amount": row.amount,
                "buyer_email": row.buyer_email,
                "buyer_name": row.buyer_name,
                "item_name": row.item_name,
                "metadata": row.metadata_,
                "status": row.status,
                "snap_token": row.snap_token,
            }
            for row in rows
        ]


def set_status(app, purchase_id: str, status: PaymentStatus) -> None:
    with app.app_context():
        db.session.execute(
            update(Payment).where(Payment.purchase_id == purchase_id).values(status=status)
        )
        db.session.commit()


def test_retry_while_pending_returns_the_first_body_byte_for_byte_with_200(
    client, project, fake_midtrans
):
    first = client.post(URL, json=checkout_body(project))
    assert first.status_code == 201

    retry = client.post(URL, json=checkout_body(project))

    assert retry.status_code == 200
    assert retry.get_data() == first.get_data()
    assert len(fake_midtrans.calls("POST", SNAP)) == 1


def test_retry_ignores_the_other_fields_and_changes_nothing(app, client, project, fake_midtrans):
    first = client.post(
        URL,
        json=checkout_body(
            project, buyer_name="Siti", item_name="Nasi Goreng", metadata={"store_slug": "a"}
        ),
    )
    before = stored_payments(app)

    retry = client.post(
        URL,
        json=checkout_body(
            project, buyer_name="Budi", item_name="Es Teh", metadata={"store_slug": "b"}
        ),
    )

    assert retry.status_code == 200
    assert retry.get_data() == first.get_data()
    assert stored_payments(app) == before
    assert len(fake_midtrans.calls("POST", SNAP)) == 1


def test_retry_with_basic_auth_is_the_same_request_as_with_body_credentials(
    client, project, fake_midtrans
):
    first = client.post(URL, json=checkout_body(project))
    body = checkout_body(project)
    del body["client_id"], body["client_secret"]

    retry = client.post(URL, json=body, auth=(project.sandbox_id, project.sandbox_secret))

    assert retry.status_code == 200
    assert retry.get_data() == first.get_data()
    assert len(fake_midtrans.calls("POST", SNAP)) == 1


@pytest.mark.parametrize(
    "change",
    [{"amount": 75001}, {"amount": 1}, {"buyer_email": "someone.else@example.com"}],
    ids=["higher-amount", "lower-amount", "other-email"],
)
def test_reuse_with_a_different_amount_or_email_is_409(app, client, project, fake_midtrans, change):
    client.post(URL, json=checkout_body(project))
    before = stored_payments(app)

    response = client.post(URL, json=checkout_body(project, **change))

    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["code"] == "order_id_conflict"
    assert error["field"] == "order_id"
    assert stored_payments(app) == before
    assert len(fake_midtrans.calls("POST", SNAP)) == 1


@pytest.mark.parametrize(
    "final_status",
    [
        PaymentStatus.SETTLEMENT,
        PaymentStatus.CANCEL,
        PaymentStatus.EXPIRE,
        PaymentStatus.REFUND,
        PaymentStatus.PARTIAL_REFUND,
    ],
)
def test_reuse_after_the_payment_is_final_is_409(app, client, project, fake_midtrans, final_status):
    created = client.post(URL, json=checkout_body(project)).get_json()
    set_status(app, created["purchase_id"], final_status)

    response = client.post(URL, json=checkout_body(project))

    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "order_id_conflict"
    assert [row["status"] for row in stored_payments(app)] == [final_status]
    assert len(fake_midtrans.calls("POST", SNAP)) == 1


def test_same_order_id_in_the_other_environment_is_a_new_payment(
    app, client, project, fake_midtrans
):
    sandbox = client.post(URL, json=checkout_body(project, "sandbox"))

    production = client.post(URL, json=checkout_body(project, "production"))

    assert sandbox.status_code == production.status_code == 201
    assert production.get_json()["environment"] == "production"
    assert production.get_json()["purchase_id"] != sandbox.get_json()["purchase_id"]
    assert sorted(row["environment"] for row in stored_payments(app)) == ["production", "sandbox"]
    assert len(fake_midtrans.calls("POST", SNAP)) == 2


def test_same_order_id_in_another_project_is_a_new_payment(app, client, project, fake_midtrans):
    with app.app_context():
        other = new_project(name="Toko Lain", owner="lain@example.com")
    first = client.post(URL, json=checkout_body(project))

    second = client.post(URL, json=checkout_body(other))

    assert first.status_code == second.status_code == 201
    assert second.get_json()["purchase_id"] != first.get_json()["purchase_id"]
    owners = [row["project_id"] for row in stored_payments(app)]
    assert owners == [project.project_id, other.project_id]
    assert len(fake_midtrans.calls("POST", SNAP)) == 2


def test_racing_identical_first_requests_end_in_one_payment(
    app, project, fake_midtrans, live_server
):
    racers = 4
    token = "race-token"
    fake_midtrans.snap_answer = Answer(
        201,
        {"token": token, "redirect_url": f"{fake_midtrans.url}/snap/v4/redirection/{token}"},
        delay=0.5,
    )
    start = threading.Barrier(racers)

    def create(_: int) -> tuple[int, bytes]:
        start.wait(timeout=10)
        response = requests.post(f"{live_server}{URL}", json=checkout_body(project), timeout=30)
        return response.status_code, response.content

    with ThreadPoolExecutor(max_workers=racers) as pool:
        results = list(pool.map(create, range(racers)))

    statuses = sorted(status for status, _ in results)
    assert statuses == [200] * (racers - 1) + [201]
    bodies = {content for _, content in results}
    assert len(bodies) == 1  # every caller got the one payment's body
    [payment] = stored_payments(app)
    assert payment["status"] == PaymentStatus.PENDING and payment["snap_token"] == token
    assert len(fake_midtrans.calls("POST", SNAP)) == 1


def test_a_payment_left_creating_by_a_crashed_request_is_replaced(
    app, client, project, fake_midtrans, monkeypatch
):
    monkeypatch.setattr("app.services.checkout.create.CREATION_WAIT_SECONDS", 0.2)
    with app.app_context():
        now = utcnow()
        db.session.add(
            Payment(
                purchase_id="pur_crashedcrashedcrashed",
                project_id=project.project_id,
                environment="sandbox",
                order_id="order-1",
                amount=75000,
                currency="IDR",
                buyer_email="buyer@example.com",
                status=PaymentStatus.CREATING,
                expires_at=now + timedelta(days=1),
                created_at=now,
            )
        )
        db.session.commit()

    response = client.post(URL, json=checkout_body(project))

    assert response.status_code == 201
    assert response.get_json()["purchase_id"] != "pur_crashedcrashedcrashed"
    [payment] = stored_payments(app)
    assert payment["purchase_id"] == response.get_json()["purchase_id"]
    assert payment["status"] == PaymentStatus.PENDING
    assert len(fake_midtrans.calls("POST", SNAP)) == 1
