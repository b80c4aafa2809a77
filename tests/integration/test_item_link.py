"""An item's hosted link `/i/<slug>` (SPEC §13) as a buyer uses it: Bahasa Indonesia, no
JavaScript, CSRF, a clear message for every bad input, "Habis" and "Tidak tersedia", the
SANDBOX banner, the short expiry of its checkouts, and its rate limit."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest

from app.models import Environment, Payment
from app.purchase.page import TEST_MODE_NOTICE
from app.services.items import catalog
from tests.helpers import csrf_token_in, new_project, payment_rows, soup, table_rows, text_of
from tests.integration.test_items import ITEMS_URL, new_item, stock_of

PRODUCTION = Environment.PRODUCTION


def open_link(client, item: dict):
    return client.get(f"/i/{item['slug']}")


def submit(client, item: dict, **fields):
    page = open_link(client, item)
    form = {"csrf_token": csrf_token_in(page), "buyer_email": "sari@example.com", **fields}
    return client.post(f"/i/{item['slug']}", data=form)


def errors_of(response) -> list[str]:
    page = soup(response)
    return [node.get_text(strip=True) for node in page.select(".field-error, .form-error")]


def test_the_page_shows_the_item_and_a_form_that_works_without_javascript(client, project):
    item = new_item(client, project, description="Es kopi, 250 ml", stock=5)

    response = open_link(client, item)

    assert response.status_code == 200
    page = soup(response)
    assert page.html["lang"] == "id"
    assert page.find("h1").get_text(strip=True) == item["name"]
    assert page.find(id="price").get_text(strip=True) == "Rp25.000"
    assert "Es kopi, 250 ml" in page.get_text()
    form = page.find("form")
    assert form["method"] == "post" and page.find("script") is None
    assert {field["name"] for field in form.find_all("input")} >= {
        "csrf_token", "buyer_email", "buyer_name", "buyer_phone", "quantity"
    }  # fmt: skip
    assert page.find(id="quantity")["max"] == "5"
    assert TEST_MODE_NOTICE in page.get_text()  # a sandbox item


def test_submitting_creates_a_checkout_and_sends_the_buyer_to_pay(
    app, client, project, fake_midtrans
):
    item = new_item(client, project, stock=5)

    response = submit(client, item, quantity="2", buyer_name="Sari", buyer_phone="0812 3456 7890")

    assert response.status_code == 303
    [payment] = payment_rows(app)
    assert response.headers["Location"].endswith(f"/pay/{payment['purchase_id']}")
    assert (payment["amount"], payment["quantity"], payment["buyer_email"]) == (
        50000,
        2,
        "sari@example.com",
    )
    assert payment["metadata"] == {"source": "payment_link"}
    lifetime = payment["expires_at"] - payment["created_at"]
    assert timedelta(minutes=59) < lifetime <= timedelta(minutes=61)  # ITEM_LINK_EXPIRY_MINUTES
    assert stock_of(app, item["item_id"]) == 3
    assert (
        client.get(response.headers["Location"]).headers["Location"].startswith(fake_midtrans.url)
    )


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"buyer_email": ""}, "buyer_email", "Masukkan alamat email"),
        ({"buyer_email": "bukan-email"}, "buyer_email", "tidak valid"),
        ({"quantity": "6"}, "quantity", "antara 1 dan 5"),
        ({"quantity": "0"}, "quantity", "antara 1 dan 5"),
        ({"quantity": "dua"}, "quantity", "antara 1 dan 5"),
        ({"buyer_phone": "telepon saya"}, "buyer_phone", "Nomor HP"),
        ({"buyer_name": "x" * 101}, "buyer_name", "100 karakter"),
    ],
)
def test_every_bad_input_gets_its_message_and_creates_nothing(
    app, client, project, fake_midtrans, fields, field, words
):
    item = new_item(client, project, stock=5)

    response = submit(client, item, **fields)

    assert response.status_code == 400
    page = soup(response)
    assert page.find(id=field)["aria-invalid"] == "true"
    assert any(words in error for error in errors_of(response)), errors_of(response)
    assert payment_rows(app) == []
    assert stock_of(app, item["item_id"]) == 5


def test_a_flexible_item_asks_for_an_amount_within_its_bounds(app, client, project, fake_midtrans):
    item = new_item(
        client, project, name="Donasi", price=None, price_mode="flexible",
        min_amount=10000, max_amount=500000,
    )  # fmt: skip

    assert soup(open_link(client, item)).find(id="amount") is not None
    low = submit(client, item, amount="9.999")
    high = submit(client, item, amount="600000")
    empty = submit(client, item, amount="")
    chosen = submit(client, item, amount="Rp 25.000")

    assert any("minimal Rp10.000" in error for error in errors_of(low))
    assert any("maksimal Rp500.000" in error for error in errors_of(high))
    assert any("Masukkan nominal" in error for error in errors_of(empty))
    assert chosen.status_code == 303
    assert [row["amount"] for row in payment_rows(app)] == [25000]


def test_a_fixed_price_is_not_the_buyers_to_change(app, client, project, fake_midtrans):
    item = new_item(client, project, allow_price_override=True)

    response = submit(client, item, amount="1")

    assert response.status_code == 303
    assert [row["amount"] for row in payment_rows(app)] == [25000]


def test_sold_out_says_habis_and_inactive_says_tidak_tersedia_without_a_form(
    app, client, project, fake_midtrans
):
    sold_out = new_item(client, project, name="Habis Terjual", stock=0)
    inactive = new_item(client, project, name="Tidak Dijual", active=False)
    archived = new_item(client, project, name="Diarsipkan")
    client.post(f"{ITEMS_URL}/{archived['item_id']}/archive", headers=project.auth())

    states = ((sold_out, "Habis"), (inactive, "Tidak tersedia"), (archived, "Tidak tersedia"))
    for item, words in states:
        page = soup(open_link(client, item))
        assert page.find("form") is None
        assert words in page.find(id="state").get_text()


def test_the_last_unit_taken_meanwhile_turns_the_form_into_habis(
    app, client, project, fake_midtrans
):
    item = new_item(client, project, stock=1)
    token = csrf_token_in(open_link(client, item))
    assert submit(client, item).status_code == 303  # someone else took the last one

    late = client.post(
        f"/i/{item['slug']}", data={"csrf_token": token, "buyer_email": "late@example.com"}
    )

    assert late.status_code == 409
    assert "Habis" in text_of(late)
    assert len(payment_rows(app)) == 1


def test_a_post_without_its_csrf_token_is_refused(app, client, project, fake_midtrans):
    item = new_item(client, project)

    response = client.post(f"/i/{item['slug']}", data={"buyer_email": "sari@example.com"})

    assert response.status_code == 400
    assert payment_rows(app) == []


def test_midtrans_down_keeps_the_form_and_the_stock(app, client, project):
    item = new_item(client, project, stock=2)  # no fake: Midtrans unreachable

    response = submit(client, item)

    assert response.status_code in (502, 503)
    assert any("coba lagi" in error for error in errors_of(response))
    assert soup(response).find(id="buyer_email")["value"] == "sari@example.com"
    assert stock_of(app, item["item_id"]) == 2
    assert table_rows(app, Payment) == []


def test_a_production_item_has_no_banner_and_an_unapproved_project_sells_nothing(
    app, client, project
):
    with app.app_context():
        newcomer = new_project(name="Toko Baru", owner="baru@example.com", approved=False)
        # Its owner has no production key yet: the item is made as the portal would.
        scope = SimpleNamespace(project_id=newcomer.project_id, environment=PRODUCTION)
        waiting = {"slug": catalog.create_item(scope, {"name": "Belum", "price": 1}).slug}
    live = new_item(client, project, environment="production", name="Produk Asli")

    live_page, waiting_page = soup(open_link(client, live)), soup(open_link(client, waiting))

    assert TEST_MODE_NOTICE not in live_page.get_text()
    assert live_page.find("form") is not None
    assert waiting_page.find("form") is None  # production not approved yet
    assert "Tidak tersedia" in waiting_page.find(id="state").get_text()


def test_an_unknown_link_is_a_bahasa_404(client):
    response = client.get("/i/tidak-ada")

    assert response.status_code == 404
    assert "Tidak ditemukan" in text_of(response)


@pytest.fixture
def limited_links(app_environ, redis_conn):
    """Two posts a minute; Redis emptied first, so no earlier run's counter counts."""
    app_environ["RATE_LIMIT_LINK"] = "2/minute"


@pytest.mark.usefixtures("limited_links")
def test_posts_are_limited_per_address_with_ratelimit_headers(app, client, project, fake_midtrans):
    item = new_item(client, project)

    answers = [submit(client, item) for _ in range(3)]

    assert [answer.status_code for answer in answers] == [303, 303, 429]
    assert answers[0].headers["RateLimit-Limit"] == "2"
    assert answers[1].headers["RateLimit-Remaining"] == "0"
    assert int(answers[2].headers["RateLimit-Reset"]) <= 60
    assert "Terlalu banyak" in text_of(answers[2])
    assert len(payment_rows(app)) == 2
    assert open_link(client, item).status_code == 200  # reading the page is not limited
