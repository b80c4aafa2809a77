"""POST /api/platform/shop-payment is idempotent on (project, environment, order_id)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from app.extensions import db
from app.models import PaymentStatus
from app.models.base import utcnow
from tests.fakes import Answer
from tests.helpers import (
    CHECKOUT_URL,
    SNAP,
    checkout_body,
    direct_payment,
    new_project,
    payment_rows,
    set_status,
)


def test_retry_while_pending_returns_the_first_body_byte_for_byte_with_200(
    client, project, fake_midtrans
):
    first = client.post(CHECKOUT_URL, json=checkout_body(project))
    assert first.status_code == 201

    retry = client.post(CHECKOUT_URL, json=checkout_body(project))

    assert retry.status_code == 200
    assert retry.get_data() == first.get_data()
    assert len(fake_midtrans.calls("POST", SNAP)) == 1


def test_retry_ignores_the_other_fields_and_changes_nothing(app, client, project, fake_midtrans):
    first = client.post(
        CHECKOUT_URL,
        json=checkout_body(
            project, buyer_name="Siti", item_name="Nasi Goreng", metadata={"store_slug": "a"}
        ),
    )
    before = payment_rows(app)

    retry = client.post(
        CHECKOUT_URL,
        json=checkout_body(
            project, buyer_name="Budi", item_name="Es Teh", metadata={"store_slug": "b"}
        ),
    )

    assert retry.status_code == 200
    assert retry.get_data() == first.get_data()
    assert payment_rows(app) == before
    assert len(fake_midtrans.calls("POST", SNAP)) == 1


def test_retry_with_basic_auth_is_the_same_request_as_with_body_credentials(
    client, project, fake_midtrans
):
    first = client.post(CHECKOUT_URL, json=checkout_body(project))
    body = checkout_body(project)
    del body["client_id"], body["client_secret"]

    retry = client.post(CHECKOUT_URL, json=body, auth=(project.sandbox_id, project.sandbox_secret))

    assert retry.status_code == 200
    assert retry.get_data() == first.get_data()
    assert len(fake_midtrans.calls("POST", SNAP)) == 1


@pytest.mark.parametrize(
    "change",
    [{"amount": 75001}, {"amount": 1}, {"buyer_email": "someone.else@example.com"}],
    ids=["higher-amount", "lower-amount", "other-email"],
)
def test_reuse_with_a_different_amount_or_email_is_409(app, client, project, fake_midtrans, change):
    client.post(CHECKOUT_URL, json=checkout_body(project))
    before = payment_rows(app)

    response = client.post(CHECKOUT_URL, json=checkout_body(project, **change))

    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["code"] == "order_id_conflict"
    assert error["field"] == "order_id"
    assert payment_rows(app) == before
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
    created = client.post(CHECKOUT_URL, json=checkout_body(project)).get_json()
    set_status(app, created["purchase_id"], final_status)

    response = client.post(CHECKOUT_URL, json=checkout_body(project))

    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "order_id_conflict"
    assert [row["status"] for row in payment_rows(app)] == [final_status]
    assert len(fake_midtrans.calls("POST", SNAP)) == 1


def test_same_order_id_in_the_other_environment_is_a_new_payment(
    app, client, project, fake_midtrans
):
    sandbox = client.post(CHECKOUT_URL, json=checkout_body(project, "sandbox"))

    production = client.post(CHECKOUT_URL, json=checkout_body(project, "production"))

    assert sandbox.status_code == production.status_code == 201
    assert production.get_json()["environment"] == "production"
    assert production.get_json()["purchase_id"] != sandbox.get_json()["purchase_id"]
    assert sorted(row["environment"] for row in payment_rows(app)) == ["production", "sandbox"]
    assert len(fake_midtrans.calls("POST", SNAP)) == 2


def test_same_order_id_in_another_project_is_a_new_payment(app, client, project, fake_midtrans):
    with app.app_context():
        other = new_project(name="Toko Lain", owner="lain@example.com")
    first = client.post(CHECKOUT_URL, json=checkout_body(project))

    second = client.post(CHECKOUT_URL, json=checkout_body(other))

    assert first.status_code == second.status_code == 201
    assert second.get_json()["purchase_id"] != first.get_json()["purchase_id"]
    owners = [row["project_id"] for row in payment_rows(app)]
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
        response = requests.post(
            f"{live_server}{CHECKOUT_URL}", json=checkout_body(project), timeout=30
        )
        return response.status_code, response.content

    with ThreadPoolExecutor(max_workers=racers) as pool:
        results = list(pool.map(create, range(racers)))

    statuses = sorted(status for status, _ in results)
    assert statuses == [200] * (racers - 1) + [201]
    bodies = {content for _, content in results}
    assert len(bodies) == 1  # every caller got the one payment's body
    [payment] = payment_rows(app)
    assert payment["status"] == PaymentStatus.PENDING and payment["snap_token"] == token
    assert len(fake_midtrans.calls("POST", SNAP)) == 1


def test_a_payment_left_creating_by_a_crashed_request_is_replaced(
    app, client, project, fake_midtrans, monkeypatch
):
    monkeypatch.setattr("app.services.checkout.create.CREATION_WAIT_SECONDS", 0.2)
    with app.app_context():
        db.session.add(
            direct_payment(
                project.project_id,
                utcnow(),
                purchase_id="pur_crashedcrashedcrashed",
                order_id="order-1",
                amount=75000,
                buyer_email="buyer@example.com",
                status=PaymentStatus.CREATING,
            )
        )
        db.session.commit()

    response = client.post(CHECKOUT_URL, json=checkout_body(project))

    assert response.status_code == 201
    assert response.get_json()["purchase_id"] != "pur_crashedcrashedcrashed"
    [payment] = payment_rows(app)
    assert payment["purchase_id"] == response.get_json()["purchase_id"]
    assert payment["status"] == PaymentStatus.PENDING
    assert len(fake_midtrans.calls("POST", SNAP)) == 1
