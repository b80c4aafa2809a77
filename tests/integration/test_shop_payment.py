"""POST /api/platform/shop-payment and GET /pay/<purchase_id>."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.helpers import CHECKOUT_URL, SNAP, basic_auth, checkout_body


def test_creates_a_checkout_and_sends_the_exact_snap_request(app, client, project, fake_midtrans):
    response = client.post(
        CHECKOUT_URL,
        json=checkout_body(
            project,
            amount=75000,
            order_id="your-internal-order-uuid",
            buyer_name="John Doe",
            item_name="Nasi Goreng Spesial " * 5,
            metadata={"store_slug": "warung-bu-sari", "store_name": "Warung Bu Sari"},
        ),
    )

    assert response.status_code == 201
    body = response.get_json()
    assert body["purchase_id"].startswith("pur_") and len(body["purchase_id"]) >= 24
    assert body["invoice_url"] == f"http://lunas.test/pay/{body['purchase_id']}"
    assert body["order_id"] == "your-internal-order-uuid"
    assert body["status"] == "pending"
    assert body["environment"] == "sandbox"
    assert body["amount"] == 75000 and body["currency"] == "IDR"
    expires_at = datetime.strptime(body["expires_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert timedelta(hours=23, minutes=59) < expires_at - datetime.now(UTC) <= timedelta(hours=24)

    [snap] = fake_midtrans.calls("POST", SNAP)
    expected_auth = basic_auth(fake_midtrans.server_key, "")["Authorization"]
    assert snap.headers["Authorization"] == expected_auth
    assert snap.headers["X-Override-Notification"] == "http://lunas.test/api/midtrans/notification"
    sent = snap.body
    assert sent["transaction_details"] == {"order_id": body["purchase_id"], "gross_amount": 75000}
    assert sent["item_details"] == [
        {
            "id": "__direct__",
            "name": ("Nasi Goreng Spesial " * 5)[:50],
            "price": 75000,
            "quantity": 1,
        }
    ]
    assert sent["customer_details"] == {"first_name": "John Doe", "email": "buyer@example.com"}
    assert sent["callbacks"] == {"finish": "http://lunas.test/purchase/callback"}
    assert sent["expiry"]["unit"] == "minute" and sent["expiry"]["duration"] == 1440
    assert sent["expiry"]["start_time"].endswith("+0700")


def test_defaults_item_name_and_first_name(client, project, fake_midtrans):
    response = client.post(
        CHECKOUT_URL, json=checkout_body(project, buyer_email="siti.rahma@example.co.id")
    )
    assert response.status_code == 201
    sent = fake_midtrans.calls("POST", SNAP)[0].body
    assert sent["item_details"][0]["name"] == "Pembayaran"
    assert sent["customer_details"]["first_name"] == "siti.rahma"


def test_http_basic_credentials_work(client, project, fake_midtrans):
    body = checkout_body(project)
    del body["client_id"], body["client_secret"]
    headers = basic_auth(project.sandbox_id, project.sandbox_secret)
    response = client.post(CHECKOUT_URL, json=body, headers=headers)
    assert response.status_code == 201


def test_production_credentials_create_a_production_payment(client, project, fake_midtrans):
    response = client.post(CHECKOUT_URL, json=checkout_body(project, "production"))
    assert response.status_code == 201
    assert response.get_json()["environment"] == "production"


def test_pay_redirects_to_midtrans_while_pending(client, project, fake_midtrans):
    body = client.post(CHECKOUT_URL, json=checkout_body(project)).get_json()
    response = client.get(f"/pay/{body['purchase_id']}")
    assert response.status_code == 302
    assert response.headers["Location"].startswith(f"{fake_midtrans.url}/snap/v4/redirection/")


def test_pay_unknown_purchase_is_404(client):
    assert client.get("/pay/pur_doesnotexist000000000000").status_code == 404
