"""The buyer's callback page in real headless Chromium on a 360 px phone: it turns to
"Pembayaran berhasil" by itself, stops polling at its limit, takes the buyer back to the store
(naming the host it goes to), says plainly that a sandbox payment is a test, and works without
JavaScript. Payments move only through signed Midtrans notifications sent to the
live server, as in production. Each state leaves a screenshot in test-artifacts/screenshots/."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

import pytest
import requests
from playwright.sync_api import Page, Route, expect
from sqlalchemy import update

from app.extensions import db
from app.models import Project
from tests.browser.conftest import PHONE, screenshot
from tests.callback_flow import TITLES, midtrans_says, move_to
from tests.helpers import CALLBACK_URL, NOTIFY_URL, create_payment

pytestmark = pytest.mark.browser

STORE_URL = "https://karejo.example/warung-bu-sari"
NOTICE = "Mode uji coba — tidak ada uang sungguhan"
SHOP = {
    "order_id": "INV-2026-0001",
    "item_name": "Nasi Goreng Spesial",
    "metadata": {"store_name": "Warung Bu Sari"},
}
SHOP_WITH_RETURN = {**SHOP, "metadata": {**SHOP["metadata"], "store_slug": "warung-bu-sari"}}

# WCAG relative luminance of an element's text against the first opaque background behind it.
CONTRAST_JS = """
(selectors) => {
  const rgb = (value) => value.match(/[\\d.]+/g).map(Number);
  const channel = (v) => {
    v /= 255;
    return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  };
  const luminance = ([r, g, b]) => 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
  const background = (el) => {
    for (; el; el = el.parentElement) {
      const c = rgb(getComputedStyle(el).backgroundColor);
      if (c.length < 4 || c[3] > 0) return c;
    }
    return [255, 255, 255];
  };
  const found = [];
  for (const selector of selectors) {
    for (const el of document.querySelectorAll(selector)) {
      if (!el.offsetParent) continue;
      const a = luminance(rgb(getComputedStyle(el).color)), b = luminance(background(el));
      found.push([selector, (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05)]);
    }
  }
  return found;
}
"""
TEXT_SELECTORS = [
    "h1",
    "#status-message",
    ".store",
    "dt",
    "dd",
    ".button",
    "button",
    ".progress-label",
    ".redirect-note",
    ".footnote",
    ".test-mode",
]


@pytest.fixture
def store_site():
    """The merchant's store, answered inside the browser: a navigation there is observable
    without any network, and nothing else on the internet is ever reached."""

    def serve(page: Page) -> None:
        def fulfil(route: Route) -> None:
            route.fulfill(
                status=200,
                content_type="text/html",
                body="<!doctype html><title>Warung Bu Sari</title><h1>Toko Warung Bu Sari</h1>",
            )

        page.route("https://karejo.example/**", fulfil)

    return serve


def midtrans_notifies(live_server: str, fake_midtrans, purchase_id: str, status: str) -> None:
    """Midtrans sends its signed notification to the running app over HTTP."""
    response = requests.post(
        f"{live_server}{NOTIFY_URL}",
        data=midtrans_says(fake_midtrans, purchase_id, status),
        headers={"Content-Type": "application/json"},
        timeout=10,
    )
    assert response.status_code == 200, response.text


def open_callback(page: Page, purchase_id: str) -> None:
    page.goto(f"{CALLBACK_URL}?order_id={purchase_id}")


def title(page: Page):
    return page.locator("#status-title")


def fits_the_phone(page: Page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def count_verify_calls(page: Page) -> list[str]:
    calls: list[str] = []
    page.on("request", lambda r: calls.append(r.url) if "/shop-payment/verify" in r.url else None)
    return calls


# -- with JavaScript -------------------------------------------------------------------------


def test_a_pending_page_turns_to_berhasil_within_4s_of_settlement_without_reload(
    client, project, fake_midtrans, live_server, phone
):
    # Production timing: every 3 s for 60 s.
    purchase_id = create_payment(client, project, **SHOP)
    page = phone()
    open_callback(page, purchase_id)
    expect(title(page)).to_have_text(TITLES["pending"])
    expect(page.locator("#poll-progress")).to_be_visible()
    page.evaluate("window.sameDocument = true")
    page.wait_for_timeout(1200)  # let the progress bar move before the picture
    screenshot(page, "pending")

    midtrans_notifies(live_server, fake_midtrans, purchase_id, "settlement")
    settled_at = time.monotonic()

    expect(title(page)).to_have_text(TITLES["settlement"], timeout=4000)
    assert time.monotonic() - settled_at < 4
    assert page.evaluate("window.sameDocument") is True  # no reload
    assert page.title().startswith(TITLES["settlement"])
    expect(page.locator("#poll-progress")).to_be_hidden()
    expect(page.locator("#store-return")).to_be_hidden()  # no store URL: no redirect
    screenshot(page, "settlement")


def test_polling_stops_at_the_limit_and_cek_lagi_resumes_it(
    quick_polling, client, project, fake_midtrans, live_server, phone
):
    purchase_id = create_payment(client, project, **SHOP)
    page = phone()
    calls = count_verify_calls(page)
    open_callback(page, purchase_id)

    check_again = page.get_by_role("button", name="Cek lagi")
    expect(check_again).to_be_visible(timeout=6000)
    assert len(calls) == 3  # 1 s apart for 3 s
    expect(title(page)).to_have_text(TITLES["pending"])  # honest: never a false success
    expect(page.locator("#status-message")).to_contain_text("belum kami terima")
    expect(page.locator("#poll-progress")).to_be_hidden()
    screenshot(page, "pending-stalled")
    page.wait_for_timeout(2500)
    assert len(calls) == 3  # stopped

    with page.expect_request(lambda request: "/shop-payment/verify" in request.url):
        check_again.click()  # asks at once
    expect(page.locator("#poll-progress")).to_be_visible()
    expect(check_again).to_be_hidden()
    midtrans_notifies(live_server, fake_midtrans, purchase_id, "settlement")

    expect(title(page)).to_have_text(TITLES["settlement"], timeout=4000)
    assert 4 <= len(calls) <= 7


def test_success_counts_down_and_returns_to_the_store(
    client, project, fake_midtrans, live_server, phone, store_site
):
    purchase_id = create_payment(client, project, **SHOP_WITH_RETURN)
    page = phone()
    store_site(page)
    open_callback(page, purchase_id)
    expect(title(page)).to_have_text(TITLES["pending"])

    midtrans_notifies(live_server, fake_midtrans, purchase_id, "settlement")
    expect(title(page)).to_have_text(TITLES["settlement"], timeout=4000)
    shown_at = time.monotonic()
    expect(page.locator("#redirect-note")).to_contain_text(
        "Anda akan diarahkan ke karejo.example dalam"
    )
    expect(page.locator("#test-mode")).to_have_text(NOTICE)
    expect(page.get_by_role("link", name="Kembali ke toko sekarang")).to_have_attribute(
        "href", STORE_URL
    )
    screenshot(page, "settlement-redirect")

    page.wait_for_url(STORE_URL, timeout=8000)
    assert time.monotonic() - shown_at >= 4  # the buyer had the countdown to read
    expect(page.locator("h1")).to_have_text("Toko Warung Bu Sari")


def test_the_countdown_after_polling_names_the_host_the_browser_really_goes_to(
    app, client, project, fake_midtrans, live_server, phone
):
    # Stored as it is (validation refuses a user name today; the page must not rely on it):
    # the text before the @ is no host, and look-alike letters show in their ASCII form.
    with app.app_context():
        db.session.execute(
            update(Project)
            .where(Project.id == project.project_id)
            .values(store_url_template="https://karejo.example@t\u00f6k\u00f6.example/{store_slug}")
        )
        db.session.commit()
    purchase_id = create_payment(client, project, **SHOP_WITH_RETURN)
    page = phone()
    arrived: list[str] = []

    def fulfil(route: Route) -> None:
        arrived.append(route.request.url)
        route.fulfill(status=200, content_type="text/html", body="<h1>elsewhere</h1>")

    page.route(lambda url: urlsplit(url).hostname == "xn--tk-fkab.example", fulfil)
    open_callback(page, purchase_id)
    expect(page.locator("#redirect-note")).to_be_hidden()

    midtrans_notifies(live_server, fake_midtrans, purchase_id, "settlement")

    note = page.locator("#redirect-note")
    expect(note).to_have_text(
        "Anda akan diarahkan ke xn--tk-fkab.example dalam 5 detik.", timeout=4000
    )
    expect(page.locator("#redirect-host")).to_have_text("xn--tk-fkab.example")
    assert "karejo" not in note.inner_text()
    page.wait_for_url(lambda url: urlsplit(url).hostname == "xn--tk-fkab.example", timeout=8000)
    [url] = arrived
    assert (urlsplit(url).hostname, urlsplit(url).path) == (
        "xn--tk-fkab.example",
        "/warung-bu-sari",
    )


@pytest.mark.parametrize("javascript", [True, False])
@pytest.mark.parametrize("status", ["pending", "settlement", "cancel", "refund"])
def test_a_sandbox_payment_says_it_is_a_test_at_the_top_of_a_phone_screen(
    client, project, fake_midtrans, phone, store_site, status, javascript
):
    purchase_id = create_payment(client, project, **SHOP_WITH_RETURN)
    move_to(client, fake_midtrans, purchase_id, status)
    page = phone(javascript=javascript)
    store_site(page)
    open_callback(page, purchase_id)

    notice = page.locator("#test-mode")
    expect(notice).to_have_text(NOTICE)
    expect(notice).to_be_in_viewport()  # seen without scrolling
    box = notice.bounding_box()
    assert box["y"] < page.locator("#status-title").bounding_box()["y"]  # read first
    assert box["width"] >= PHONE["width"] * 0.8 and box["height"] >= 30  # prominent
    assert fits_the_phone(page)
    ratios = dict(page.evaluate(CONTRAST_JS, [".test-mode"]))
    assert ratios[".test-mode"] >= 7
    if status == "settlement":
        expect(page.locator("#redirect-note")).to_have_text(
            "Anda akan diarahkan ke karejo.example dalam 5 detik."
        )
    screenshot(page, f"sandbox-{status}{'' if javascript else '-nojs'}")


def test_a_production_payment_shows_no_test_notice(client, project, fake_midtrans, phone):
    purchase_id = create_payment(client, project, "production", **SHOP)
    move_to(client, fake_midtrans, purchase_id, "settlement")
    page = phone()
    open_callback(page, purchase_id)

    expect(title(page)).to_have_text(TITLES["settlement"])
    expect(page.locator("#test-mode")).to_have_count(0)
    assert "uji coba" not in page.locator("body").inner_text()


def test_the_go_now_link_returns_at_once(client, project, fake_midtrans, phone, store_site):
    purchase_id = create_payment(client, project, **SHOP_WITH_RETURN)
    move_to(client, fake_midtrans, purchase_id, "settlement")
    page = phone()
    store_site(page)
    open_callback(page, purchase_id)
    expect(page.locator("#countdown")).to_have_text("5")

    started = time.monotonic()
    page.get_by_role("link", name="Kembali ke toko sekarang").click()

    page.wait_for_url(STORE_URL, timeout=3000)
    assert time.monotonic() - started < 3


@pytest.mark.parametrize("status", ["cancel", "expire", "refund", "partial_refund"])
def test_final_states_look_right_on_a_phone_and_never_redirect(
    client, project, fake_midtrans, phone, store_site, status
):
    purchase_id = create_payment(client, project, **SHOP_WITH_RETURN)
    move_to(client, fake_midtrans, purchase_id, status)
    page = phone()
    store_site(page)
    open_callback(page, purchase_id)

    expect(title(page)).to_have_text(TITLES[status])
    expect(page.locator(".details")).to_contain_text("Rp75.000")
    assert fits_the_phone(page)
    assert all(ratio >= 4.5 for _, ratio in page.evaluate(CONTRAST_JS, TEXT_SELECTORS))
    screenshot(page, status)
    # A link back to the store, never a redirect: no script, no refresh on this page at all.
    expect(page.locator("#store-link")).to_have_attribute("href", STORE_URL)
    assert page.locator("script[src], meta[http-equiv=refresh]").count() == 0


def test_success_and_not_found_fit_a_phone_with_readable_contrast(
    client, project, fake_midtrans, phone, store_site
):
    purchase_id = create_payment(client, project, **SHOP)
    move_to(client, fake_midtrans, purchase_id, "settlement")
    page = phone()
    for order_id, state in ((purchase_id, "settlement"), ("pur_unknown", "not_found")):
        open_callback(page, order_id)
        expect(title(page)).to_have_text(TITLES[state])
        assert fits_the_phone(page)
        ratios = page.evaluate(CONTRAST_JS, TEXT_SELECTORS)
        assert ratios and all(ratio >= 4.5 for _, ratio in ratios), ratios
    screenshot(page, "not-found")


def test_merchant_strings_are_shown_as_text_never_run(client, project, fake_midtrans, phone):
    payload = '"><img src=x onerror=alert(1)><script>alert(2)</script>'
    purchase_id = create_payment(
        client, project, item_name=payload, metadata={"store_name": payload}
    )
    page = phone()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))

    open_callback(page, purchase_id)

    expect(page.locator(".store")).to_have_text(payload)
    expect(page.locator(".details")).to_contain_text(payload)
    assert page.locator("img").count() == 0
    page.wait_for_timeout(300)
    assert dialogs == []


# -- without JavaScript ----------------------------------------------------------------------


def test_without_javascript_the_refresh_is_bounded_then_cek_lagi(
    quick_polling, client, project, fake_midtrans, live_server, phone
):
    purchase_id = create_payment(client, project, **SHOP)
    page = phone(javascript=False)
    open_callback(page, purchase_id)
    expect(page.get_by_text("diperbarui otomatis setiap 1 detik")).to_be_visible()
    screenshot(page, "nojs-pending")

    check_again = page.get_by_role("link", name="Cek lagi")
    expect(check_again).to_be_visible(timeout=8000)
    assert page.url.endswith("&r=3")
    expect(title(page)).to_have_text(TITLES["pending"])
    screenshot(page, "nojs-stalled")
    page.wait_for_timeout(2500)
    assert page.url.endswith("&r=3")  # no more refreshes

    midtrans_notifies(live_server, fake_midtrans, purchase_id, "settlement")
    check_again.click()
    expect(title(page)).to_have_text(TITLES["settlement"])


def test_without_javascript_the_final_state_and_the_store_are_still_reached(
    quick_polling, client, project, fake_midtrans, live_server, phone, store_site
):
    purchase_id = create_payment(client, project, **SHOP_WITH_RETURN)
    page = phone(javascript=False)
    store_site(page)
    open_callback(page, purchase_id)
    expect(title(page)).to_have_text(TITLES["pending"])

    midtrans_notifies(live_server, fake_midtrans, purchase_id, "settlement")

    expect(title(page)).to_have_text(TITLES["settlement"], timeout=4000)
    screenshot(page, "nojs-settlement")
    page.wait_for_url(STORE_URL, timeout=8000)
