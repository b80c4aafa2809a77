"""The merchant portal in real headless Chromium, the way a merchant who has never seen Lunas
meets it: register, create a project, copy its keys, take a sandbox payment
through the API and the Midtrans simulator, find it in the payments list and on the chart, point
the webhooks at a receiver, send a test event and watch its delivery. Screenshots of the main
pages go to test-artifacts/screenshots/portal-*.png."""

from __future__ import annotations

import pytest
import requests
from playwright.sync_api import Page, expect

from app.extensions import db
from app.models import EventType
from app.models.base import utcnow
from app.services.outbox.events import new_delivery
from tests.browser.conftest import PHONE, screenshot
from tests.helpers import CHECKOUT_URL, direct_payment
from tests.receiver import MerchantReceiver

# The built-in Midtrans simulator, on the live server, as `make run` has it.
pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("midtrans_simulator")]

EMAIL = "sari@warung.example"
PASSWORD = "nasi goreng spesial 2026"


def register(page: Page) -> None:
    page.goto("/register")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Confirm password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page).to_have_url("/projects")


def create_project(page: Page) -> tuple[str, str, str]:
    """(project_id, client_id, client_secret) of the new project's sandbox, copied with the
    page's own Copy buttons."""
    page.get_by_role("link", name="New project").click()
    page.get_by_label("Project name").fill("Warung Bu Sari")
    page.get_by_label("Store URL template (optional)").fill("https://karejo.example/{store_slug}")
    page.get_by_role("button", name="Create project").click()
    expect(page.get_by_role("heading", name="Warung Bu Sari is ready")).to_be_visible()
    screenshot(page, "portal-project-created")
    copied = []
    for element in ("client-id-sandbox", "client-secret-sandbox"):
        button = page.locator(f'button.copy[data-copy="{element}"]')
        button.click()
        expect(button).to_have_text("Copied")
        copied.append(page.evaluate("navigator.clipboard.readText()"))
    assert copied[0] == page.locator("#client-id-sandbox").inner_text()
    assert copied[1].startswith("sk_test_")
    project_id = page.get_by_role("link", name="Go to the project").get_attribute("href")
    return project_id.removeprefix("/projects/"), copied[0], copied[1]


def test_a_new_merchant_takes_a_sandbox_payment_and_sees_its_webhook_arrive(
    app, live_server, desktop, run_worker
):
    page = desktop
    register(page)
    project_id, client_id, client_secret = create_project(page)

    # The merchant's backend creates a checkout with the copied keys.
    checkout = requests.post(
        f"{live_server}{CHECKOUT_URL}",
        json={
            "client_id": client_id,
            "client_secret": client_secret,
            "amount": 75000,
            "order_id": "INV-2026-0001",
            "buyer_email": "buyer@example.com",
            "item_name": "Nasi Goreng Spesial",
            "metadata": {"store_name": "Warung Bu Sari", "store_slug": "warung-bu-sari"},
        },
        timeout=15,
    )
    assert checkout.status_code == 201, checkout.text
    purchase_id = checkout.json()["purchase_id"]

    # The buyer pays on the simulated Midtrans page and lands on the status page.
    page.route("https://karejo.example/**", lambda route: route.fulfill(body="store"))
    page.goto(checkout.json()["invoice_url"])
    page.get_by_role("button", name="Pay").click()
    expect(page.locator("#status-title")).to_have_text("Pembayaran berhasil")

    # The payment is in the list and on the chart.
    page.goto(f"/projects/{project_id}")
    page.get_by_role("link", name="Payments", exact=True).click()
    row = page.locator("tr", has_text="INV-2026-0001")
    expect(row).to_contain_text("settlement")
    expect(row).to_contain_text("Rp75.000")
    screenshot(page, "portal-payments")
    row.get_by_role("link", name=purchase_id).click()
    expect(page.get_by_text("pending → settlement")).to_be_visible()
    screenshot(page, "portal-payment-detail")

    page.get_by_role("link", name="Overview", exact=True).click()
    chart = page.get_by_role("img", name="Revenue per day, last 30 days")
    expect(chart).to_be_visible()
    today = chart.locator("a").last  # the chart's last column is today
    expect(today.locator("title")).to_contain_text("Rp75.000 revenue; 1 paid; 1 created")
    assert float(today.locator("rect.bar").get_attribute("height")) > 100  # the tallest bar
    expect(chart.locator("a title", has_text="Rp0 revenue")).to_have_count(29)
    screenshot(page, "portal-overview")

    # Webhooks: the URL, a test event, and its delivery.
    with MerchantReceiver() as receiver:
        page.get_by_role("link", name="Webhooks", exact=True).click()
        page.get_by_label("Webhook URL").fill(receiver.url)
        page.get_by_role("button", name="Save URL").click()
        expect(page.get_by_label("Webhook URL")).to_have_value(receiver.url)
        page.get_by_role("button", name="Reveal").click()
        secret = page.locator("#webhook-secret").inner_text()
        assert secret.startswith("whsec_")
        screenshot(page, "portal-webhooks")

        page.get_by_role("button", name="Send test event").click()
        run_worker()
        received = receiver.wait_for(2)  # the test event, and the item.purchased that waited
        for delivery in received:
            delivery.verify(secret)
        page.reload()
        expect(page.get_by_text("delivered")).to_be_visible()
        screenshot(page, "portal-delivery")

    page.get_by_role("link", name="Deliveries", exact=True).click()
    expect(page.locator("tr", has_text="item.purchased")).to_contain_text("delivered")
    expect(page.locator("tr", has_text="test.ping")).to_contain_text("delivered")
    screenshot(page, "portal-deliveries")

    page.get_by_role("link", name="Keys", exact=True).click()
    expect(page.get_by_text(client_id)).to_be_visible()
    assert client_secret not in page.content()
    screenshot(page, "portal-keys")


def merchant_with_a_project(page: Page) -> str:
    """A new merchant signs up and creates a project: its id."""
    register(page)
    page.goto("/projects/new")
    page.get_by_label("Project name").fill("Warung Bu Sari")
    page.get_by_role("button", name="Create project").click()
    href = page.get_by_role("link", name="Go to the project").get_attribute("href")
    return href.split("/projects/")[1].split("?")[0]


def test_portal_pages_fit_a_phone_screen(app, phone):
    """Merchant staff on a phone: no page is wider than the screen (wide tables scroll
    inside themselves), and the nav's Log out stays reachable."""
    page = phone(locale="en-US")  # in Bahasa Indonesia: tests/browser/test_i18n_browser.py
    project_id = merchant_with_a_project(page)
    with app.app_context():
        payments = [
            direct_payment(project_id, utcnow(), buyer_email=f"pembeli.panjang{n}@example.com")
            for n in range(3)
        ]
        db.session.add_all(payments)
        db.session.flush()
        purchase_id = payments[0].purchase_id
        event_id = new_delivery(
            project_id, "sandbox", EventType.TEST, {"event": "test.ping"}, payments[0].id
        ).id
        db.session.commit()

    for path in (
        "",
        "/payments",
        f"/payments/{purchase_id}",
        "/deliveries",
        f"/deliveries/{event_id}",
        "/webhooks",
        "/keys",
        "/settings",
    ):
        page.goto(f"/projects/{project_id}{path}?env=sandbox")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"{path or '/'}: {width} px wide"
        expect(page.get_by_role("button", name="Log out")).to_be_in_viewport()


def test_on_a_phone_the_chart_opens_at_today_and_payments_show_amount_and_status(app, phone):
    page = phone(locale="en-US")
    project_id = merchant_with_a_project(page)
    with app.app_context():
        db.session.add(
            direct_payment(project_id, utcnow(), buyer_email="pembeli.panjang@example.com")
        )
        db.session.commit()

    page.goto(f"/projects/{project_id}?env=sandbox")
    today = page.locator("svg.chart-revenue a").last.locator("rect.hit").bounding_box()
    oldest = page.locator("svg.chart-revenue a").first.locator("rect.hit").bounding_box()
    assert today["x"] >= 0 and today["x"] + today["width"] <= PHONE["width"]  # in view
    assert oldest["x"] + oldest["width"] <= 0  # 30 days ago is off to the left
    screenshot(page, "portal-overview-phone")

    page.goto(f"/projects/{project_id}/payments?env=sandbox")
    for cell in ("td.amount", "td.status-cell"):
        box = page.locator(f"table.payments {cell}").first.bounding_box()
        assert box["x"] + box["width"] <= PHONE["width"], cell
    screenshot(page, "portal-payments-phone")

    fonts = page.evaluate(
        """() => [document.body, document.querySelector("button"),
                  document.querySelector("input")].map(e => getComputedStyle(e).fontFamily)"""
    )
    assert fonts[1] == fonts[0] and fonts[2] == fonts[0]
    icon = page.evaluate("document.querySelector('link[rel=icon]').href")
    assert page.request.get(icon).ok and page.request.get("/favicon.ico").ok
