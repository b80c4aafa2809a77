"""Tools → QRIS in real Chromium (SPEC §14): a merchant uploads a photo of the bank's QRIS
sticker, sees its fields, makes the dynamic code for an amount and downloads the PNG, which
scans back to the code the page shows."""

from __future__ import annotations

import io

import pytest
import zxingcpp
from PIL import Image
from playwright.sync_api import expect

from app import qris
from tests.browser.conftest import screenshot
from tests.helpers import TEST_PASSWORD, new_project
from tests.integration.test_qris_api import picture
from tests.unit.test_qris import DANA_STATIC

pytestmark = pytest.mark.browser


def test_the_merchant_turns_a_sticker_photo_into_a_dynamic_code_and_downloads_it(
    app, live_server, desktop, tmp_path
):
    with app.app_context():
        new_project(name="Warung Bu Sari")
    photo = tmp_path / "stiker-qris.jpg"
    photo.write_bytes(picture(DANA_STATIC, "jpeg", quality=85))
    page = desktop
    page.goto("/login")
    page.get_by_label("Email").fill("owner@example.com")
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="Tools · QRIS").click()

    page.get_by_label("…or a picture of it").set_input_files(str(photo))
    page.get_by_role("button", name="Check code").click()
    expect(page.get_by_text("Static QRIS · BoonTrack")).to_be_visible()
    expect(page.locator("#qris-nmid")).to_have_text("ID1026564075103")

    # The code read from the photo stays in the form: no second upload for the amount.
    expect(page.get_by_label("QRIS code (the text it holds)")).to_have_value(DANA_STATIC)
    page.get_by_label("Amount (Rp)").fill("25.000")
    page.get_by_label("Fee for the buyer").select_option("fixed")
    page.get_by_label("Fee", exact=True).fill("1.000")
    page.get_by_role("button", name="Make dynamic code").click()

    expect(page.get_by_role("heading", name="Dynamic code for Rp25.000")).to_be_visible()
    dynamic = page.locator("#qris-dynamic").inner_text()
    code = qris.read(dynamic)
    assert (code.amount, code.value("56")) == (25000, "1000")
    assert page.locator("#qris-result img.qr").evaluate("img => img.naturalWidth") > 0
    expect(page.locator("#qris-amount")).to_have_text("Rp25.000")
    expect(page.locator("#qris-fee")).to_have_text("Rp1.000")
    screenshot(page, "portal-qris")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download PNG").click()
    download = download_info.value
    assert download.suggested_filename == "qris-25000.png"
    with open(download.path(), "rb") as saved:
        [found] = zxingcpp.read_barcodes(Image.open(io.BytesIO(saved.read())))
    assert found.text == dynamic
