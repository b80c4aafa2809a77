"""One project's credentials never reach another project's payments."""

from __future__ import annotations

import pytest

from tests.helpers import (
    CHECKOUT_URL,
    SNAP,
    VERIFY_URL,
    ProjectKeys,
    checkout_body,
    create_checkout,
    new_project,
    payment_row,
)

B_EMAIL = "siti.rahmawati@example.co.id"
B_NAME = "Siti Rahmawati"
# All a buyer-facing lookup may show.
VERIFY_FIELDS = {
    "environment",
    "client_id",
    "order_id",
    "purchase_id",
    "status",
    "amount",
    "currency",
    "store_name",
    "redirect_url",
    "paid_at",
}


@pytest.fixture
def project_b(app) -> ProjectKeys:
    with app.app_context():
        return new_project(name="Toko Budi", owner="budi@example.com")


@pytest.fixture
def b_payment(client, project_b, fake_midtrans) -> dict:
    """Project B's pending payment for its order INV-1."""
    return create_checkout(
        client,
        project_b,
        order_id="INV-1",
        amount=50000,
        buyer_email=B_EMAIL,
        buyer_name=B_NAME,
        item_name="Kopi Susu",
    )


@pytest.mark.parametrize("foreign_reference", ["order_id", "purchase_id"])
def test_creating_with_another_projects_order_reference_makes_a_separate_payment(
    app, client, project, project_b, b_payment, foreign_reference
):
    b_before = payment_row(app, b_payment["purchase_id"])

    response = client.post(
        CHECKOUT_URL,
        json=checkout_body(
            project,
            order_id=b_payment[foreign_reference],
            amount=99000,
            buyer_email="a@example.com",
        ),
    )

    assert response.status_code == 201, response.get_json()
    created = response.get_json()
    assert created["purchase_id"] != b_payment["purchase_id"]
    assert created["amount"] == 99000
    assert payment_row(app, created["purchase_id"])["project_id"] == project.project_id
    assert payment_row(app, b_payment["purchase_id"]) == b_before


@pytest.mark.parametrize("environment", ["sandbox", "production"])
def test_one_projects_client_id_with_anothers_secret_is_401(
    app, client, project, project_b, fake_midtrans, environment
):
    mixed = {
        "client_id": project.body(environment)["client_id"],
        "client_secret": project_b.body(environment)["client_secret"],
    }

    response = client.post(CHECKOUT_URL, json={**checkout_body(project, environment), **mixed})

    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "invalid_client"
    assert fake_midtrans.calls("POST", SNAP) == []


def test_identical_request_with_another_projects_order_id_is_not_a_replay_of_it(
    app, client, project, project_b, b_payment, fake_midtrans
):
    same_as_b = checkout_body(
        project, order_id="INV-1", amount=50000, buyer_email=B_EMAIL, buyer_name=B_NAME
    )

    response = client.post(CHECKOUT_URL, json=same_as_b)

    assert response.status_code == 201
    assert response.get_json()["purchase_id"] != b_payment["purchase_id"]
    assert B_NAME not in response.get_data(as_text=True)
    assert len(fake_midtrans.calls("POST", SNAP)) == 2


@pytest.mark.parametrize("reference", ["order_id", "purchase_id"])
@pytest.mark.parametrize("environment", ["sandbox", "production"])
def test_verify_narrowed_to_one_project_cannot_see_anothers_payment(
    client, project, b_payment, reference, environment
):
    client_id = project.sandbox_id if environment == "sandbox" else project.production_id

    response = client.get(
        VERIFY_URL, query_string={"order_id": b_payment[reference], "client_id": client_id}
    )

    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"
    assert b_payment["purchase_id"] not in response.get_data(as_text=True)


def test_another_tenants_payment_never_answers_for_a_bare_merchant_order_id(client, b_payment):
    # Only project B has a payment "INV-1" (a stranger's free sandbox payment, say): a lookup
    # by that order id alone must not report it, or a merchant verifying its own INV-1 would
    # ship goods on B's payment.
    response = client.get(VERIFY_URL, query_string={"order_id": "INV-1"})

    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "client_id_required"
    assert b_payment["purchase_id"] not in response.get_data(as_text=True)


def test_client_id_chooses_that_projects_payment_among_equal_order_ids(
    client, project, project_b, b_payment
):
    a_payment = client.post(CHECKOUT_URL, json=checkout_body(project, order_id="INV-1")).get_json()

    as_a = client.get(
        VERIFY_URL, query_string={"order_id": "INV-1", "client_id": project.sandbox_id}
    )
    as_b = client.get(
        VERIFY_URL, query_string={"order_id": "INV-1", "client_id": project_b.sandbox_id}
    )

    assert as_a.status_code == as_b.status_code == 200
    assert as_a.get_json()["purchase_id"] == a_payment["purchase_id"]
    assert as_a.get_json()["store_name"] == "Warung Bu Sari"
    assert as_b.get_json()["purchase_id"] == b_payment["purchase_id"]
    assert as_b.get_json()["amount"] == 50000
    assert as_b.get_json()["store_name"] == "Toko Budi"


def test_purchase_id_is_unambiguous_even_when_order_ids_collide(client, project, b_payment):
    client.post(CHECKOUT_URL, json=checkout_body(project, order_id="INV-1"))

    response = client.get(VERIFY_URL, query_string={"order_id": b_payment["purchase_id"]})

    assert response.status_code == 200
    assert response.get_json()["purchase_id"] == b_payment["purchase_id"]


@pytest.mark.parametrize("reference", ["order_id", "purchase_id"])
def test_verify_with_an_unknown_client_id_is_404(client, b_payment, reference):
    response = client.get(
        VERIFY_URL,
        query_string={"order_id": b_payment[reference], "client_id": "lk_test_" + "z" * 24},
    )

    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    "query",
    [
        pytest.param(lambda a, b, paid: {"order_id": paid["purchase_id"]}, id="by-purchase-id"),
        pytest.param(
            lambda a, b, paid: {"order_id": "INV-1", "client_id": b.sandbox_id},
            id="by-order-id-and-client-id",
        ),
        pytest.param(lambda a, b, paid: {"order_id": "INV-1"}, id="ambiguous"),
        pytest.param(
            lambda a, b, paid: {"order_id": "INV-1", "client_id": a.production_id},
            id="not-found",
        ),
    ],
)
def test_verify_never_shows_buyer_email_or_name(client, project, project_b, b_payment, query):
    client.post(
        CHECKOUT_URL,
        json=checkout_body(project, order_id="INV-1", buyer_email=B_EMAIL, buyer_name=B_NAME),
    )

    response = client.get(VERIFY_URL, query_string=query(project, project_b, b_payment))

    text = response.get_data(as_text=True)
    assert set(response.get_json()) in (VERIFY_FIELDS, {"error"})
    for private in (B_EMAIL, B_NAME, "siti.rahmawati", "buyer_email", "buyer_name", "Kopi Susu"):
        assert private not in text
