"""The developer site's quick start, followed literally: a script reads the blocks the page
shows in real Chromium, pastes them into a shell with a merchant's own sandbox keys, and the
browser pays on the simulator's page; the payment ends settled, read back by the page's own
command."""

from __future__ import annotations

import json
import os
import subprocess
import time

import pytest
from playwright.sync_api import expect

from app.docs.routes import CLIENT_ID_PLACEHOLDER, CLIENT_SECRET_PLACEHOLDER
from tests.browser.conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("midtrans_simulator")]


def shell(script: str) -> dict:
    """Run pasted commands in bash; the JSON the last command printed."""
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp")},
        check=False,
    )
    assert done.returncode == 0, f"{script}\n{done.stdout}\n{done.stderr}"
    return json.loads(done.stdout)


def test_the_quick_start_followed_literally_settles_a_sandbox_payment(
    live_server, project, desktop
):
    page = desktop
    page.goto("/docs")
    expect(page).to_have_title("Lunas developer docs")
    page.get_by_role("link", name="Quick start").click()
    expect(page.locator("#quick-start")).to_be_in_viewport()
    blocks = page.locator("[data-quickstart]")
    expect(blocks).to_have_count(3)
    export, create, read = (blocks.nth(index).inner_text() for index in range(3))
    assert f'LUNAS_URL="{live_server}"' in export

    # The reader pastes their own keys in place of the page's placeholders.
    export = export.replace(CLIENT_ID_PLACEHOLDER, project.sandbox_id).replace(
        CLIENT_SECRET_PLACEHOLDER, project.sandbox_secret
    )
    created = shell(f"{export}\n{create}")
    assert created["status"] == "pending"
    assert created["invoice_url"].startswith(live_server)

    page.goto(created["invoice_url"])
    page.get_by_role("button", name="Pay", exact=True).click()
    expect(page.locator("body")).to_contain_text("Pembayaran berhasil")
    screenshot(page, "docs-quickstart-paid")

    deadline = time.monotonic() + 10
    while (payment := shell(f"{export}\n{read}"))["status"] != "settlement":
        assert time.monotonic() < deadline, payment
        time.sleep(0.5)
    assert payment["order_id"] == "order-1001"
    assert payment["purchase_id"] == created["purchase_id"]
    assert payment["amount"] == 75000


def test_the_docs_read_well_on_a_phone(phone):
    """A developer on a phone: one column, nothing wider than the screen but the code blocks,
    which scroll inside themselves."""
    page = phone()
    page.goto("/docs#reference")
    expect(page.locator("[data-operation='create_shop_payment']")).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360
    screenshot(page, "docs-phone")
