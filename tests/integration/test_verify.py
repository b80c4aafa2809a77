"""GET /api/platform/shop-payment/verify."""

from __future__ import annotations

from functools import partial

import pytest
from sqlalchemy import event

from app.extensions import db
from app.models import PaymentStatus
from app.models.base import utcnow
from tests.helpers import (
    CHECKOUT_URL,
    VERIFY_URL,
    checkout_body,
    create_checkout,
    new_project,
    set_status,
)


@pytest.fixture
def checkout(client, project, fake_midtrans):
    """`checkout(**fields)`: a pending payment of the project through the API: the answer."""
    return partial(create_checkout, client, project)


def verify(client, order_id: str, client_id: str | None = None):
    query = (
        {"order_id": order_id}
        if client_id is None
        else {"order_id": order_id, "client_id": client_id}
    )
    return client.get(VERIFY_URL, query_string=query)


def test_finds_a_payment_by_purchase_id_and_by_merchant_order_id(client, project, checkout):
    created = checkout(order_id="INV-2026-0001")

    by_purchase = verify(client, created["purchase_id"])
    by_order = verify(client, "INV-2026-0001", project.sandbox_id)

    assert by_purchase.status_code == by_order.status_code == 200
    assert by_purchase.get_json() == by_order.get_json()
    assert by_order.get_json() == {
        "order_id": "INV-2026-0001",
        "purchase_id": created["purchase_id"],
        "status": "pending",
        "amount": 75000,
        "currency": "IDR",
        "store_name": "Warung Bu Sari",
        "redirect_url": None,
        "paid_at": None,
        "environment": "sandbox",
        "client_id": project.sandbox_id,
    }


def test_a_merchant_order_id_alone_is_refused_with_client_id_required(client, checkout):
    # Anyone can make a free sandbox payment with any order id: without the client_id naming
    # the merchant's project environment, that payment could answer for the merchant's order.
    checkout(order_id="INV-2026-0001")

    response = verify(client, "INV-2026-0001")

    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "client_id_required"
    assert response.get_json()["error"]["field"] == "client_id"
    assert response.headers["Access-Control-Allow-Origin"] == "*"


def test_a_purchase_id_with_another_environments_client_id_is_404(client, project, checkout):
    created = checkout()

    assert verify(client, created["purchase_id"], project.sandbox_id).status_code == 200
    assert verify(client, created["purchase_id"], project.production_id).status_code == 404


def test_settled_payment_shows_paid_at_and_store_redirect(app, client, project, checkout):
    created = checkout(metadata={"store_slug": "warung-bu-sari", "store_name": "Warung Bu Sari 2"})
    paid = utcnow().replace(microsecond=0)
    set_status(app, created["purchase_id"], PaymentStatus.SETTLEMENT, paid_at=paid)

    body = verify(client, "order-1", project.sandbox_id).get_json()

    assert body["status"] == "settlement"
    assert body["paid_at"] == paid.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert body["store_name"] == "Warung Bu Sari 2"
    assert body["redirect_url"] == "https://karejo.example/warung-bu-sari"


def test_no_redirect_without_a_store_url_template(app, client, fake_midtrans):
    with app.app_context():
        keys = new_project(name="Tanpa Toko")
    create_checkout(client, keys, metadata={"store_slug": "cabang-1"})
    body = verify(client, "order-1", keys.sandbox_id).get_json()
    assert body["redirect_url"] is None
    assert body["store_name"] == "Tanpa Toko"


def test_buyer_details_never_appear(client, checkout):
    created = checkout(buyer_email="rahasia@example.com", buyer_name="Nama Rahasia")
    text = client.get(VERIFY_URL, query_string={"order_id": created["purchase_id"]}).get_data(True)
    assert "rahasia@example.com" not in text and "Nama Rahasia" not in text


def test_unknown_order_is_404_in_the_envelope(client, project):
    response = verify(client, "nope", project.sandbox_id)
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Access-Control-Allow-Origin"] == "*"


@pytest.mark.parametrize("query", [{}, {"order_id": ""}, {"order_id": "x" * 65}])
def test_missing_or_oversized_order_id_is_400(client, query):
    response = client.get(VERIFY_URL, query_string=query)
    assert response.status_code == 400
    assert response.get_json()["error"] == {
        "code": "invalid_request",
        "message": "order_id is required (at most 64 characters)",
        "field": "order_id",
    }


def test_is_not_cached_and_open_to_any_origin(client, project, checkout):
    checkout()
    response = client.get(
        VERIFY_URL,
        query_string={"order_id": "order-1", "client_id": project.sandbox_id},
        headers={"Origin": "https://shop.example"},
    )
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Access-Control-Allow-Origin"] == "*"


def test_cors_preflight_allows_get_only(client):
    response = client.options(
        VERIFY_URL,
        headers={"Origin": "https://shop.example", "Access-Control-Request-Method": "GET"},
    )
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.headers["Access-Control-Allow-Methods"] == "GET"


def test_post_is_405_in_the_envelope(client):
    response = client.post(VERIFY_URL)
    assert response.status_code == 405
    assert response.get_json()["error"]["code"] == "method_not_allowed"


def test_a_payment_still_being_created_is_not_visible(app, client, project, checkout):
    created = checkout()
    set_status(app, created["purchase_id"], PaymentStatus.CREATING)
    assert verify(client, "order-1", project.sandbox_id).status_code == 404
    assert verify(client, created["purchase_id"]).status_code == 404


def test_answers_with_exactly_one_sql_statement(app, client, project, checkout):
    created = checkout(order_id="INV-7", metadata={"store_slug": "toko"})
    statements: list[str] = []
    with app.app_context():
        engine = db.engine

    def count(conn, cursor, statement, *args):
        if not statement.lstrip().upper().startswith(("BEGIN", "ROLLBACK", "COMMIT", "PRAGMA")):
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        for order_id, client_id in (
            (created["purchase_id"], None),
            (created["purchase_id"], project.sandbox_id),
            ("INV-7", project.sandbox_id),
            ("unknown-order", project.sandbox_id),
            ("INV-7", "lk_test_unknown"),
        ):
            statements.clear()
            verify(client, order_id, client_id)
            assert len(statements) == 1, statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_client_id_narrows_to_its_project_and_environment(app, client, project, fake_midtrans):
    sandbox = client.post(CHECKOUT_URL, json=checkout_body(project, "sandbox")).get_json()
    production = client.post(CHECKOUT_URL, json=checkout_body(project, "production")).get_json()

    without_client = client.get(VERIFY_URL, query_string={"order_id": "order-1"})
    in_sandbox = client.get(
        VERIFY_URL, query_string={"order_id": "order-1", "client_id": project.sandbox_id}
    )
    in_production = client.get(
        VERIFY_URL, query_string={"order_id": "order-1", "client_id": project.production_id}
    )
    unknown_client = client.get(
        VERIFY_URL, query_string={"order_id": "order-1", "client_id": "lk_test_unknown"}
    )

    assert without_client.status_code == 400
    assert without_client.get_json()["error"]["code"] == "client_id_required"
    assert in_sandbox.get_json()["purchase_id"] == sandbox["purchase_id"]
    assert in_sandbox.get_json()["environment"] == "sandbox"
    assert in_production.get_json()["purchase_id"] == production["purchase_id"]
    assert in_production.get_json()["environment"] == "production"
    assert in_production.get_json()["client_id"] == project.production_id
    assert unknown_client.status_code == 404
