"""GET /purchase/callback: the first paint, rendered on the server from our own record,
and GET /pay/<purchase_id> once a payment is final. The browser behaviour (polling, countdown,
no-JS refresh) is in tests/browser/test_callback_browser.py."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from bs4 import BeautifulSoup

from app.formatting import format_rupiah
from tests.callback_flow import TITLES, move_to
from tests.helpers import (
    CALLBACK_URL,
    VERIFY_URL,
    create_checkout,
    create_payment,
    new_project,
    soup,
    text_of,
)

STORE_URL = "https://karejo.example/warung-bu-sari"
STATUSES = ["settlement", "pending", "cancel", "expire", "refund", "partial_refund"]
FINAL_BUT_NOT_PAID = ["cancel", "expire", "refund", "partial_refund"]
XSS = ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>']


@pytest.fixture
def payment_in(client, project, fake_midtrans):
    """A payment of the project, moved by Midtrans notifications to the given Lunas status."""

    def make(status: str, **fields) -> str:
        purchase_id = create_payment(client, project, **fields)
        move_to(client, fake_midtrans, purchase_id, status)
        return purchase_id

    return make


def callback(client, order_id: str, **query: str):
    return client.get(CALLBACK_URL, query_string={"order_id": order_id, **query})


def meta_refresh(page: BeautifulSoup) -> str | None:
    found = page.find("meta", attrs={"http-equiv": "refresh"})
    return found["content"] if found else None


# -- every state -----------------------------------------------------------------------------


@pytest.mark.parametrize("status", STATUSES)
def test_each_status_is_painted_from_our_record_with_store_order_and_rupiah(
    client, payment_in, status
):
    purchase_id = payment_in(status, order_id="INV-0042", metadata={"store_name": "Warung Bu Sari"})

    response = callback(client, purchase_id)

    assert response.status_code == 200
    page = soup(response)
    assert page.find("h1") and TITLES[status] in text_of(page)
    assert page.find("section", id="payment")["data-status"] == status
    assert "Warung Bu Sari" in text_of(page)
    assert "INV-0042" in text_of(page)
    assert "Rp75.000" in text_of(page)
    for other, title in TITLES.items():
        if other != status and title not in TITLES[status]:
            assert title not in text_of(page)


def test_a_merchant_order_id_alone_finds_no_page(client, payment_in):
    # Merchant order ids are unique only within a project environment (anyone can make a free
    # sandbox payment with any of them), so the buyer's page answers only for our purchase_id,
    # which is what Midtrans and every link of ours carry.
    payment_in("settlement", order_id="INV-7")

    response = callback(client, "INV-7")

    assert response.status_code == 404
    assert TITLES["settlement"] not in text_of(response)


@pytest.mark.parametrize("order_id", ["pur_doesnotexist", "INV-unknown", "", "x" * 65])
def test_an_unknown_order_is_404_pesanan_tidak_ditemukan(client, order_id):
    response = callback(client, order_id)

    assert response.status_code == 404
    page = soup(response)
    assert TITLES["not_found"] in text_of(page)
    assert page.find("html", lang="id")
    assert meta_refresh(page) is None
    assert not page.find("script", src="/static/js/callback.js")


def test_an_ambiguous_merchant_order_id_is_not_found(app, client, project, fake_midtrans):
    create_payment(client, project, order_id="INV-SAME")
    with app.app_context():
        other = new_project(name="Toko Lain", owner="other@example.com")
    create_checkout(client, other, order_id="INV-SAME")

    answer = callback(client, "INV-SAME")

    assert answer.status_code == 404
    assert TITLES["not_found"] in text_of(answer)
    assert "Toko Lain" not in text_of(answer)


def test_the_query_strings_transaction_status_is_ignored(client, payment_in):
    pending = payment_in("pending")
    paid = payment_in("settlement", order_id="order-2")

    lying_up = callback(client, pending, transaction_status="settlement", status_code="200")
    lying_down = callback(client, paid, transaction_status="deny", status_code="202")

    assert TITLES["pending"] in text_of(lying_up)
    assert TITLES["settlement"] not in text_of(lying_up)
    assert TITLES["settlement"] in text_of(lying_down)
    assert TITLES["cancel"] not in text_of(lying_down)


# -- the page itself -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "shown"),
    [
        (1, "Rp1"),
        (1000, "Rp1.000"),
        (75000, "Rp75.000"),
        (1500000, "Rp1.500.000"),
        (999999999999, "Rp999.999.999.999"),
    ],
)
def test_amounts_are_rupiah_with_dots(amount, shown):
    assert format_rupiah(amount) == shown


def test_a_large_amount_is_shown_in_rupiah(client, payment_in):
    purchase_id = payment_in("pending", amount=1500000)

    assert "Rp1.500.000" in text_of(callback(client, purchase_id))


def test_the_page_is_indonesian_and_announces_its_status(client, payment_in):
    page = soup(callback(client, payment_in("pending")))

    assert page.find("html", lang="id")
    live = page.find("div", role="status")
    assert live and live["aria-live"] == "polite"
    assert page.find("meta", attrs={"name": "viewport"})


@pytest.mark.parametrize("status", ["pending", "settlement"])
def test_the_page_is_never_cached_and_never_framed(client, payment_in, status):
    response = callback(client, payment_in(status))

    assert response.headers["Cache-Control"] == "no-store"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]


def test_not_found_is_never_cached_either(client):
    assert callback(client, "pur_nothing").headers["Cache-Control"] == "no-store"


def test_the_poll_timing_comes_from_configuration(app_environ, client, payment_in):
    page = soup(callback(client, payment_in("pending")))
    section = page.find("section", id="payment")

    assert section["data-poll-interval-ms"] == "3000"
    assert section["data-poll-limit-ms"] == "60000"
    assert section["data-verify-url"].startswith(f"{VERIFY_URL}?order_id=pur_")


def test_short_poll_timing_can_be_configured(quick_polling, client, payment_in):
    section = soup(callback(client, payment_in("pending"))).find("section", id="payment")

    assert (section["data-poll-interval-ms"], section["data-poll-limit-ms"]) == ("1000", "3000")


# -- merchant strings, buyer data, links ----------------------------------------------------


@pytest.mark.parametrize("payload", XSS)
@pytest.mark.parametrize("status", ["pending", "settlement"])
def test_store_name_and_item_name_are_escaped(client, payment_in, payload, status):
    purchase_id = payment_in(status, item_name=payload, metadata={"store_name": payload})

    html = callback(client, purchase_id).get_data(as_text=True)

    assert payload not in html
    assert "<img" not in html and "alert(1)</script>" not in html
    escaped = payload.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    assert html.count(escaped.replace('"', "&#34;")) >= 3  # title, store line, product
    assert text_of(callback(client, purchase_id)).count(payload) >= 2


def test_a_project_name_shown_as_store_name_is_escaped(app, client, fake_midtrans):
    with app.app_context():
        keys = new_project(name=XSS[1], owner="evil@example.com")
    purchase_id = create_payment(client, keys)

    html = callback(client, purchase_id).get_data(as_text=True)

    assert XSS[1] not in html
    assert "<img" not in html


@pytest.mark.parametrize("status", STATUSES)
def test_buyer_email_and_name_never_appear(client, payment_in, status):
    purchase_id = payment_in(
        status, buyer_email="siti.rahma@example.com", buyer_name="Siti Rahmawati"
    )

    html = callback(client, purchase_id).get_data(as_text=True)

    assert "siti.rahma" not in html
    assert "Siti" not in html and "Rahmawati" not in html


@pytest.mark.parametrize("status", STATUSES)
def test_no_external_url_but_the_store_on_a_final_state(client, payment_in, status):
    purchase_id = payment_in(status, metadata={"store_slug": "warung-bu-sari"})

    html = callback(client, purchase_id).get_data(as_text=True)

    for tag in soup(html).find_all(True):
        for name in ("src", "href", "action"):
            value = tag.get(name) or ""
            assert not value.startswith("//"), (name, value)
            assert not value.startswith(("http://", "https://")) or value == STORE_URL
    without_store = html.replace(STORE_URL, "")
    assert not re.search(r"https?://", without_store)
    assert (STORE_URL in html) == (status != "pending")


# -- going back to the store, and the page without JavaScript --------------------------------


def test_success_with_a_store_url_says_so_and_counts_down(client, payment_in):
    purchase_id = payment_in("settlement", metadata={"store_slug": "warung-bu-sari"})

    page = soup(callback(client, purchase_id))

    assert page.find("section", id="payment")["data-redirect-url"] == STORE_URL
    assert page.find("a", id="store-link")["href"] == STORE_URL
    assert "Kembali ke toko sekarang" in text_of(page)
    assert "Anda akan diarahkan ke karejo.example dalam 5 detik" in text_of(page)
    # Without JavaScript the same return happens through a <noscript> refresh.
    assert meta_refresh(page) == f"5;url={STORE_URL}"


def test_success_without_a_store_url_stays_put(client, payment_in):
    page = soup(callback(client, payment_in("settlement")))

    assert not page.find("section", id="payment").has_attr("data-redirect-url")
    assert meta_refresh(page) is None
    assert "Kembali ke toko" not in text_of(page)


@pytest.mark.parametrize("status", FINAL_BUT_NOT_PAID)
def test_no_other_state_ever_redirects(client, payment_in, status):
    purchase_id = payment_in(status, metadata={"store_slug": "warung-bu-sari"})

    page = soup(callback(client, purchase_id))

    assert meta_refresh(page) is None
    assert not page.find("section", id="payment").has_attr("data-redirect-url")
    assert not page.find("p", id="redirect-note")
    assert not page.find("script", src="/static/js/callback.js")
    # A plain link back is offered, never followed by itself.
    assert page.find("a", id="store-link")["href"] == STORE_URL


def test_pending_without_javascript_refreshes_with_a_counter(client, payment_in):
    purchase_id = payment_in("pending", metadata={"store_slug": "warung-bu-sari"})

    first = soup(callback(client, purchase_id))
    later = soup(callback(client, purchase_id, r="7"))

    assert meta_refresh(first) == f"3;url=/purchase/callback?order_id={purchase_id}&r=1"
    assert meta_refresh(later) == f"3;url=/purchase/callback?order_id={purchase_id}&r=8"
    assert "Diperbarui otomatis setiap 3 detik" in text_of(first)


@pytest.mark.parametrize("r", ["20", "21", "99999"])
def test_pending_without_javascript_stops_at_the_limit_and_offers_cek_lagi(client, payment_in, r):
    purchase_id = payment_in("pending")

    page = soup(callback(client, purchase_id, r=r))

    assert meta_refresh(page) is None
    check_again = page.select('a[class="button"]')
    assert check_again[0]["href"] == f"/purchase/callback?order_id={purchase_id}"
    assert "Cek lagi" in text_of(page)
    assert "belum kami terima" in text_of(page)
    assert TITLES["settlement"] not in text_of(page)


@pytest.mark.parametrize("r", ["abc", "-5", ""])
def test_a_malformed_refresh_counter_starts_from_zero(client, payment_in, r):
    purchase_id = payment_in("pending")

    page = soup(callback(client, purchase_id, r=r))

    assert meta_refresh(page) == f"3;url=/purchase/callback?order_id={purchase_id}&r=1"


# -- /pay ------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", FINAL_BUT_NOT_PAID + ["settlement"])
def test_pay_on_a_final_state_leads_to_the_callback_page(client, payment_in, status):
    purchase_id = payment_in(status)

    response = client.get(f"/pay/{purchase_id}")

    assert response.status_code == 302
    assert response.headers["Location"] == f"/purchase/callback?order_id={purchase_id}"
    assert TITLES[status] in text_of(client.get(response.headers["Location"]))


def test_pay_while_pending_goes_to_midtrans(client, payment_in, fake_midtrans):
    response = client.get(f"/pay/{payment_in('pending')}")

    assert response.status_code == 302
    assert response.headers["Location"].startswith(f"{fake_midtrans.url}/snap/v4/redirection/")


# -- a buyer who left the Midtrans page before paying ----------------------------------------


def continue_link(client, purchase_id: str) -> str | None:
    found = soup(callback(client, purchase_id)).find("a", string="Lanjutkan pembayaran")
    return found["href"] if found else None


def test_a_pending_page_leads_back_to_the_open_midtrans_checkout(client, payment_in):
    purchase_id = payment_in("pending")

    link = continue_link(client, purchase_id)

    assert link == f"/pay/{purchase_id}"
    # The stable invoice link sends the buyer on to Midtrans while it is still open.
    assert client.get(link).status_code == 302


def test_no_way_back_to_paying_once_final_or_expired(client, payment_in, clock):
    paid = payment_in("settlement", order_id="paid-1")
    pending = payment_in("pending", order_id="pending-1")

    assert continue_link(client, paid) is None
    clock.shift(timedelta(days=1, minutes=1))  # past CHECKOUT_EXPIRY_MINUTES (1440)
    assert continue_link(client, pending) is None
