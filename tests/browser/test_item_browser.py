"""Items in real Chromium (SPEC §13): a buyer on a 360 px phone opens an item's link, pays on
the simulator and downloads the file; a merchant creates an item with an image in the portal
and copies its link."""

from __future__ import annotations

import pytest
import requests
from playwright.sync_api import expect

from tests.browser.conftest import screenshot
from tests.helpers import TEST_PASSWORD, new_project, wait_for_simulator_notifications
from tests.integration.test_item_delivery import BOUNDARY, PDF, multipart, png

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("midtrans_simulator")]


def api_item(live_server: str, project, **fields) -> dict:
    auth = (project.sandbox_id, project.sandbox_secret)
    body = {"name": "Ebook Resep Warung", "price": 45000, **fields}
    item = requests.post(f"{live_server}/api/platform/items", json=body, auth=auth, timeout=10)
    assert item.status_code == 201, item.text
    return item.json()


def put_file(live_server: str, project, item_id: str, what: str, data: bytes, name: str) -> None:
    response = requests.put(
        f"{live_server}/api/platform/items/{item_id}/{what}",
        data=multipart(data, name),
        headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
        auth=(project.sandbox_id, project.sandbox_secret),
        timeout=10,
    )
    assert response.status_code == 200, response.text


def test_a_buyer_on_a_phone_buys_through_the_link_and_downloads_the_file(
    app, live_server, phone, tmp_path
):
    with app.app_context():
        project = new_project(name="Dapur Bu Sari")
    item = api_item(live_server, project, description="60 resep masakan rumahan, PDF.", stock=10)
    put_file(live_server, project, item["item_id"], "image", png(640, 360), "sampul.png")
    put_file(live_server, project, item["item_id"], "delivery", PDF, "resep-warung.pdf")

    page = phone()
    page.goto(f"/i/{item['slug']}")
    expect(page.get_by_role("heading", name="Ebook Resep Warung")).to_be_visible()
    expect(page.locator("#price")).to_have_text("Rp45.000")
    expect(page.locator("#test-mode")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360  # no sideways scroll
    assert page.locator("img.item-image").evaluate("img => img.naturalWidth") == 640
    screenshot(page, "item-link")
    page.get_by_role("button", name="Bayar sekarang").click()
    expect(page.get_by_text("Masukkan alamat email Anda")).to_be_visible()  # empty email
    page.get_by_label("Email").fill("sari@example.com")
    page.get_by_label("Jumlah").fill("2")
    page.get_by_role("button", name="Bayar sekarang").click()

    page.get_by_role("button", name="Pay", exact=True).click()  # the simulated Snap page
    wait_for_simulator_notifications()
    expect(page.get_by_text("Pesanan Anda siap diunduh")).to_be_visible(timeout=15_000)
    expect(page.locator("#delivery-download")).to_contain_text("resep-warung.pdf")
    screenshot(page, "item-delivery")
    with page.expect_download() as download_info:
        page.locator("#delivery-download").click()
    download = download_info.value
    assert download.suggested_filename == "resep-warung.pdf"
    saved = tmp_path / "saved.pdf"
    download.save_as(saved)
    assert saved.read_bytes() == PDF


def test_a_sold_out_link_says_habis_on_a_phone(app, live_server, phone):
    with app.app_context():
        project = new_project(name="Dapur Bu Sari")
    item = api_item(live_server, project, name="Sambal Bawang Edisi Terbatas", stock=0)

    page = phone(javascript=False)
    page.goto(f"/i/{item['slug']}")

    expect(page.locator("#state")).to_contain_text("Habis")
    expect(page.locator("form")).to_have_count(0)
    screenshot(page, "item-sold-out")


def test_the_merchant_creates_an_item_with_an_image_and_copies_its_link(
    app, live_server, desktop, tmp_path
):
    with app.app_context():
        project = new_project(name="Dapur Bu Sari")
    image = tmp_path / "sampul.png"
    image.write_bytes(png(320, 180))
    page = desktop
    page.goto("/login")
    page.get_by_label("Email").fill("owner@example.com")
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"/projects/{project.project_id}")
    page.get_by_role("link", name="Items").click()
    page.get_by_role("link", name="New item").first.click()

    page.get_by_label("Name", exact=True).fill("Kelas Online Membuat Kue")
    page.get_by_label("Price (Rp)").fill("150.000")
    page.get_by_label("Stock (empty: unlimited)").fill("20")
    page.get_by_label("Image (PNG, JPEG or WebP, up to 2 MB)").set_input_files(str(image))
    page.get_by_label("Hidden text for the buyer").fill("Link Zoom: https://zoom.example/j/123")
    page.get_by_role("button", name="Create item").click()

    expect(page.get_by_text("Kelas Online Membuat Kue is saved.")).to_be_visible()
    link = page.locator("#item-link-url")
    expect(link).to_have_text(f"{live_server}/i/kelas-online-membuat-kue")
    expect(page.locator("img.qr")).to_be_visible()
    assert page.locator("img.qr").evaluate("img => img.naturalWidth") > 0  # the SVG loaded
    assert page.locator("img.item-thumb").evaluate("img => img.naturalWidth") == 320
    page.get_by_role("button", name="Copy link").click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == link.inner_text()
    screenshot(page, "portal-item")
    page.get_by_role("link", name="← Items").click()
    expect(page.locator("table.items")).to_contain_text("Kelas Online Membuat Kue")
    expect(page.locator("table.items")).to_contain_text("Rp150.000")
    screenshot(page, "portal-items")
