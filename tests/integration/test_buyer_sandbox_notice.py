"""Every buyer page of a sandbox payment says plainly that it is a test, and the countdown to
the store names the host the buyer is sent to. Anyone can make a sandbox payment for free: a
"Pembayaran berhasil" on Lunas's domain that then sends the buyer anywhere must never pass for
a real payment, or for a trip back to the shop the buyer thinks. The browser side (the notice
on a phone, the host after polling) is in tests/browser/test_callback_browser.py."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from app.extensions import db
from app.models import Project
from tests.callback_flow import TITLES, move_to
from tests.helpers import CALLBACK_URL, create_payment, new_project, soup, text_of

NOTICE = "Mode uji coba — tidak ada uang sungguhan"
STATUSES = ["settlement", "pending", "cancel", "expire", "refund", "partial_refund"]
SLUG = {"store_slug": "warung-bu-sari"}


def callback(client, purchase_id: str, **query: str):
    return client.get(CALLBACK_URL, query_string={"order_id": purchase_id, **query})


def notice_of(page):
    """The notice element, checked to be visible without any script: not hidden, not in a
    <noscript> or <template>, and before the page's heading."""
    page = soup(page)
    found = [node for node in page.find_all(string=True) if NOTICE in node]
    assert len(found) <= 1
    if not found:
        return None
    element = found[0].parent
    for ancestor in [element, *element.parents]:
        assert not ancestor.has_attr("hidden"), ancestor.name
        assert ancestor.name not in ("noscript", "template", "script"), ancestor.name
    assert element.find_next("h1") is not None  # first: read before the status itself
    return element


def store_template(app, project_id: str, template: str) -> None:
    """A store URL template as stored (written directly: the page must be safe whatever the
    row holds, even what validation would refuse today)."""
    with app.app_context():
        db.session.execute(
            update(Project).where(Project.id == project_id).values(store_url_template=template)
        )
        db.session.commit()


def countdown(page) -> str | None:
    note = soup(page).find("p", id="redirect-note")
    return None if note is None or note.has_attr("hidden") else " ".join(note.get_text().split())


def meta_refresh(page) -> str | None:
    found = soup(page).find("meta", attrs={"http-equiv": "refresh"})
    return found["content"] if found else None


# -- the sandbox notice ----------------------------------------------------------------------


@pytest.mark.parametrize("status", STATUSES)
def test_every_state_of_a_sandbox_payment_says_it_is_a_test(client, project, fake_midtrans, status):
    purchase_id = create_payment(client, project, metadata=SLUG)
    move_to(client, fake_midtrans, purchase_id, status)

    page = callback(client, purchase_id)

    assert TITLES[status] in text_of(page)
    notice = notice_of(page)
    assert notice is not None
    assert notice.get_text(" ", strip=True) == NOTICE


@pytest.mark.parametrize("status", STATUSES)
def test_a_production_payment_never_shows_the_notice(client, project, fake_midtrans, status):
    purchase_id = create_payment(client, project, "production", metadata=SLUG)
    move_to(client, fake_midtrans, purchase_id, status)

    page = callback(client, purchase_id)

    assert TITLES[status] in text_of(page)
    assert NOTICE not in page.get_data(as_text=True)
    assert "uji coba" not in text_of(page)


def test_the_notice_is_on_the_no_javascript_pages_too(client, project, fake_midtrans):
    purchase_id = create_payment(client, project)

    refreshing = callback(client, purchase_id, r="3")
    stalled = callback(client, purchase_id, r="99")

    assert notice_of(refreshing) is not None and meta_refresh(refreshing)
    assert notice_of(stalled) is not None and "Cek lagi" in text_of(stalled)


def test_the_notice_does_not_depend_on_the_query_string(client, project, fake_midtrans):
    # What Midtrans appends (or anyone edits) is never trusted: only our own record.
    sandbox = create_payment(client, project, order_id="sb-1")
    live = create_payment(client, project, "production", order_id="live-1")

    assert notice_of(callback(client, sandbox, environment="production")) is not None
    assert notice_of(callback(client, live, environment="sandbox", test="1")) is None


@pytest.mark.parametrize("order_id", ["pur_doesnotexist", "INV-1"])
def test_not_found_claims_nothing_about_any_payment(client, order_id):
    page = callback(client, order_id)

    assert page.status_code == 404
    assert notice_of(page) is None


@pytest.mark.parametrize(
    "path", ["/pay/pur_doesnotexist000000000000", "/pay/", "/pay/pur_x/extra", "/purchase/nope"]
)
def test_an_invoice_link_to_no_payment_is_the_buyers_not_found_page(client, path):
    response = client.get(path)

    assert response.status_code == 404
    page = soup(response)
    assert page.find("html", lang="id")
    assert TITLES["not_found"] in text_of(page)
    assert notice_of(page) is None
    assert response.headers["Cache-Control"] == "no-store"


def test_an_invoice_link_of_a_final_sandbox_payment_leads_to_the_notice(
    client, project, fake_midtrans
):
    purchase_id = create_payment(client, project)
    move_to(client, fake_midtrans, purchase_id, "settlement")

    response = client.get(f"/pay/{purchase_id}", follow_redirects=True)

    assert TITLES["settlement"] in text_of(response)
    assert notice_of(response) is not None


def test_the_notice_reaches_the_script_free_first_paint_as_plain_text(
    client, project, fake_midtrans
):
    purchase_id = create_payment(client, project)
    move_to(client, fake_midtrans, purchase_id, "settlement")

    html = callback(client, purchase_id).get_data(as_text=True)

    assert NOTICE in html  # the em dash as a character, not an entity or a script's string
    assert html.index(NOTICE) < html.index(TITLES["settlement"], html.index("<body"))


# -- the countdown names where the buyer goes ------------------------------------------------


def paid(client, fake_midtrans, keys, **fields) -> str:
    purchase_id = create_payment(client, keys, metadata=SLUG, **fields)
    move_to(client, fake_midtrans, purchase_id, "settlement")
    return purchase_id


def test_the_countdown_names_the_store_host(client, project, fake_midtrans):
    page = callback(client, paid(client, fake_midtrans, project))

    assert countdown(page) == "Anda akan diarahkan ke karejo.example dalam 5 detik."
    assert soup(page).find(id="redirect-host").get_text() == "karejo.example"


@pytest.mark.parametrize(
    ("template", "host", "not_shown"),
    [
        # userinfo is not where the buyer goes: the host after the @ is.
        ("https://karejo.example@evil.example/{store_slug}", "evil.example", "karejo"),
        ("https://karejo.example:pw@evil.example:8443/{store_slug}", "evil.example", "karejo"),
        # look-alike letters (a Cyrillic а) and other international names: their ASCII form.
        ("https://\u0430pple.example/{store_slug}", "xn--pple-43d.example", "\u0430pple"),
        ("https://tökö.example/{store_slug}", "xn--tk-fkab.example", "tökö"),
        ("https://straße.example/{store_slug}", "xn--strae-oqa.example", "strasse"),
        ("https://KAREJO.Example:8443/{store_slug}", "karejo.example", "KAREJO"),
        ("https://{store_slug}.karejo.example/", "warung-bu-sari.karejo.example", "@"),
        ("http://[::1]:8080/{store_slug}", "[::1]", "8080"),
    ],
)
def test_the_countdown_names_the_host_the_browser_really_goes_to(
    app, client, project, fake_midtrans, template, host, not_shown
):
    store_template(app, project.project_id, template)

    page = callback(client, paid(client, fake_midtrans, project))

    assert countdown(page) == f"Anda akan diarahkan ke {host} dalam 5 detik."
    assert not_shown not in countdown(page)


@pytest.mark.parametrize(
    "template",
    [
        "https://evil%2eexample/{store_slug}",  # a browser reads this host as evil.example
        "https://<script>alert(1)</script>.example/{store_slug}",
        "https://a\u202eelpmaxe.evil/{store_slug}",  # a right-to-left override
        "https://toko .example/{store_slug}",
    ],
)
def test_a_host_that_cannot_be_named_honestly_is_a_link_never_a_redirect(
    app, client, project, fake_midtrans, template
):
    store_template(app, project.project_id, template)

    page = callback(client, paid(client, fake_midtrans, project))
    html = page.get_data(as_text=True)

    assert TITLES["settlement"] in text_of(page)
    assert countdown(page) is None
    assert meta_refresh(page) is None
    assert not soup(page).find("section", id="payment").has_attr("data-redirect-url")
    assert "<script>alert(1)" not in html
    assert soup(page).find("a", id="store-link").get_text(strip=True) == "Kembali ke toko"


def test_without_a_store_url_nothing_is_named(client, project, fake_midtrans):
    purchase_id = create_payment(client, project)
    move_to(client, fake_midtrans, purchase_id, "settlement")

    page = callback(client, purchase_id)

    assert countdown(page) is None
    assert "diarahkan" not in text_of(page)


def test_a_pending_page_keeps_an_empty_host_for_its_script_to_fill(app, client, fake_midtrans):
    with app.app_context():
        keys = new_project(name="Toko", template="https://toko.example/{store_slug}")
    purchase_id = create_payment(client, keys, metadata=SLUG)

    page = soup(callback(client, purchase_id))

    note = page.find("p", id="redirect-note")
    assert note.has_attr("hidden")
    assert page.find(id="redirect-host").get_text() == ""
    assert page.find(id="countdown").get_text() == "5"
