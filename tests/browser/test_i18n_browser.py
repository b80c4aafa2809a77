"""The portal in Bahasa Indonesia, end to end, in real headless Chromium set to id-ID: a merchant
signs up, creates a project, copies the sandbox keys, takes a payment through the API and the
simulator, finds it under Pembayaran, points webhooks at a receiver; then switches to English
and back, and the choice holds across pages, reloads and logging out. Every label is looked up
through the catalog, so the page must say what the catalog says."""

from __future__ import annotations

import pytest
import requests
from playwright.sync_api import Page, expect

from app.i18n import COOKIE
from tests.browser.conftest import DESKTOP, screenshot
from tests.helpers import CHECKOUT_URL
from tests.helpers import in_bahasa_indonesia as indonesian

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("midtrans_simulator")]

EMAIL = "sari@warung.example"
PASSWORD = "nasi goreng spesial 2026"


@pytest.fixture
def merchant(chromium, live_server):
    """A desktop browser whose language is Bahasa Indonesia (Accept-Language id-ID)."""
    context = chromium.new_context(base_url=live_server, viewport=DESKTOP, locale="id-ID")
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server)
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def test_a_merchant_uses_the_portal_in_bahasa_indonesia_from_sign_up_to_a_paid_order(
    app, live_server, merchant: Page
):
    page = merchant

    def say(message: str) -> str:
        return indonesian(app, message, same=message in {"Email", "Webhooks", "Webhook URL"})

    page.goto("/register")
    expect(page.locator("html")).to_have_attribute("lang", "id")
    page.get_by_label(say("Email")).fill(EMAIL)
    page.get_by_label(say("Password"), exact=True).fill(PASSWORD)
    page.get_by_label(say("Confirm password")).fill(PASSWORD)
    page.get_by_role("button", name=say("Create account")).click()
    expect(page).to_have_url("/projects")

    page.get_by_role("link", name=say("New project")).click()
    page.get_by_label(say("Project name")).fill("Warung Bu Sari")
    page.get_by_role("button", name=say("Create project")).click()
    screenshot(page, "portal-id-project-created")
    copied = []
    for element in ("client-id-sandbox", "client-secret-sandbox"):
        button = page.locator(f'button.copy[data-copy="{element}"]')
        button.click()
        expect(button).to_have_text(say("Copied"))
        copied.append(page.evaluate("navigator.clipboard.readText()"))
    page.get_by_role("link", name=say("Go to the project")).click()
    banner = say("<strong>SANDBOX</strong> — test mode: payments here move no real money.")
    expect(page.locator(".env-banner-sandbox")).to_have_text(
        banner.replace("<strong>", "").replace("</strong>", "")
    )

    checkout = requests.post(
        f"{live_server}{CHECKOUT_URL}",
        json={
            "client_id": copied[0],
            "client_secret": copied[1],
            "amount": 45000,
            "order_id": "INV-ID-0001",
            "item_name": "Es Teh Manis",
            "buyer_email": "pembeli@example.com",
        },
        timeout=15,
    )
    assert checkout.status_code == 201, checkout.text
    project_page = page.url
    page.goto(checkout.json()["invoice_url"])
    page.get_by_role("button", name="Pay").click()
    expect(page.locator("#status-title")).to_have_text("Pembayaran berhasil")

    page.goto(project_page)
    page.get_by_role("link", name=say("Payments"), exact=True).click()
    row = page.locator("tr", has_text="INV-ID-0001")
    expect(row).to_contain_text("settlement")
    expect(row).to_contain_text("Rp45.000")
    screenshot(page, "portal-id-payments")

    page.get_by_role("link", name=say("Webhooks"), exact=True).click()
    page.get_by_label(say("Webhook URL")).fill("ftp://hooks.example/x")
    page.get_by_role("button", name=say("Save URL")).click()
    error = page.locator(".field-error")
    expect(error).to_have_count(1)
    assert "must be" not in error.inner_text()  # the service's refusal, translated

    # English for a while: the switch, on any page, and it holds across pages and reloads.
    page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("link", name="Webhooks", exact=True)).to_have_attribute(
        "aria-current", "page"
    )  # back on the page the switch was pressed on
    page.get_by_role("link", name="Keys", exact=True).click()
    expect(page.get_by_role("link", name="Payments", exact=True)).to_be_visible()
    page.reload()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    cookies = {cookie["name"]: cookie for cookie in page.context.cookies()}
    assert cookies[COOKIE]["value"] == "en" and cookies[COOKIE]["httpOnly"]

    page.get_by_role("button", name="Bahasa Indonesia").click()
    expect(page.locator("html")).to_have_attribute("lang", "id")
    page.get_by_role("button", name=say("Log out")).click()
    expect(page.get_by_role("heading", name=say("Log in"))).to_be_visible()
    screenshot(page, "portal-id-login")
