"""A merchant refunds half a payment from the portal in real Chromium (SPEC §11.7): the
confirmation step, the refund on the timeline, and a `payment.refunded` at their receiver that
verifies with the public standardwebhooks library."""

from __future__ import annotations

import pytest
import requests
from playwright.sync_api import expect

from tests.helpers import (
    TEST_PASSWORD,
    checkout_body,
    new_project,
    wait_for_simulator_notifications,
)
from tests.integration.test_simulator import pay
from tests.receiver import MerchantReceiver
from tests.webhook_flow import point_webhooks_at, signing_secret

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("midtrans_simulator")]


def test_the_merchant_refunds_half_a_payment_and_their_receiver_is_told(
    app, live_server, desktop, run_worker
):
    with app.app_context():
        project = new_project(name="Warung Bu Sari")
    with MerchantReceiver() as receiver:
        point_webhooks_at(app, project, receiver.url)
        created = requests.post(
            f"{live_server}/api/platform/shop-payment",
            json=checkout_body(project, order_id="INV-REFUND-1"),
            timeout=15,
        ).json()
        assert pay(created["invoice_url"], "pay", "qris").status_code == 303
        purchase_id = created["purchase_id"]

        page = desktop
        page.goto("/login")
        page.get_by_label("Email").fill("owner@example.com")
        page.get_by_label("Password").fill(TEST_PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.goto(f"/projects/{project.project_id}/payments/{purchase_id}")
        expect(page.get_by_text("Rp75.000 is left to refund")).to_be_visible()

        page.get_by_label("Refund amount (Rupiah)").fill("37500")
        page.get_by_label("Reason").fill("setengah pesanan habis")
        page.get_by_role("button", name="Refund…").click()
        expect(page.get_by_role("heading", name="Refund this payment?")).to_be_visible()
        expect(page.get_by_text("Give Rp37.500 back to buyer@example.com")).to_be_visible()
        page.get_by_role("button", name="Refund Rp37.500").click()

        expect(page.get_by_text("Refunded Rp37.500")).to_be_visible()
        expect(page.locator("h2 .pill")).to_have_text("partial_refund")
        refunds = page.locator("table.refunds")
        expect(refunds).to_contain_text("setengah pesanan habis")
        expect(refunds).to_contain_text("succeeded")
        timeline = page.locator("ol.timeline")
        expect(timeline.locator("li", has_text="Refund").first).to_be_visible()
        expect(timeline).to_contain_text("settlement → partial_refund")
        expect(timeline).to_contain_text("payment.refunded")

        # Midtrans's own refund notification follows a moment later: the same refund.
        wait_for_simulator_notifications()
        run_worker()
        received = receiver.wait_for(2)  # item.purchased, then payment.refunded
        secret = signing_secret(app, project)
        events = [delivery.verify(secret) for delivery in received]
        assert [event["event"] for event in events] == ["item.purchased", "payment.refunded"]
        refunded = events[1]
        assert (refunded["refund_amount"], refunded["refunded_amount"]) == (37500, 37500)
        assert refunded["refund_id"].startswith("rfd_")
        assert refunded["status"] == "partial_refund"
