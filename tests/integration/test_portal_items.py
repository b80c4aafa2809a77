"""The portal's Items tab (SPEC §13): create / edit / archive with the image and the delivery,
sales and revenue per item, the link's QR code, a new download link from the payment page,
and another tenant's items out of reach."""

from __future__ import annotations

import io

import pytest
import segno
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from app.models import DeliveryLink, Item, MediaFile
from tests.helpers import csrf_token_in, soup, table_rows, text_of
from tests.integration.test_item_delivery import PDF, PNG, delivery_url, path_of
from tests.integration.test_items import checkout, new_item
from tests.merchant_api import refund
from tests.portal_client import log_in, post_with_token
from tests.webhook_flow import settle


@pytest.fixture
def owner(client, project):
    log_in(client)
    return project.project_id


def items_path(owner: str, rest: str = "") -> str:
    return f"/projects/{owner}/items" + rest


def form_fields(**fields) -> dict:
    return {
        "name": "Ebook Resep Warung",
        "description": "60 resep",
        "price_mode": "fixed",
        "price": "45.000",
        "stock": "",
        "active": "y",
        **fields,
    }


def create(client, owner: str, **fields):
    token = csrf_token_in(client.get(items_path(owner, "/new")))
    return client.post(
        items_path(owner, "/new"),
        data={"csrf_token": token, **form_fields(**fields)},
        content_type="multipart/form-data",
    )


def test_an_item_is_created_with_its_image_and_file_and_shown_with_its_link(app, client, owner):
    created = create(
        client,
        owner,
        image=(io.BytesIO(PNG), "sampul.png"),
        delivery_file=(io.BytesIO(PDF), "resep.pdf"),
    )

    assert created.status_code == 303
    [row] = table_rows(app, Item)
    assert (row["name"], row["price"], row["slug"]) == (
        "Ebook Resep Warung",
        45000,
        "ebook-resep-warung",
    )
    page = soup(client.get(created.headers["Location"]))
    assert page.find(id="item-link-url").get_text() == "http://lunas.test/i/ebook-resep-warung"
    assert page.find("button", attrs={"data-copy": "item-link-url"}) is not None
    assert "resep.pdf" in page.find(id="delivery-now").get_text()
    assert page.find("img", class_="item-thumb")["src"].startswith("http://lunas.test/media/")
    listing = soup(client.get(items_path(owner)))
    assert "Ebook Resep Warung" in listing.get_text()
    assert "Rp45.000" in listing.get_text()


def test_the_form_takes_a_delivery_file_far_over_the_json_limit(app, client, owner):
    big = PDF + b"\x00" * (3 * 1024 * 1024)  # 3 MB: the form's limit is the file's, not 64 KB

    token = csrf_token_in(client.get(items_path(owner, "/new")))
    fields = {
        "csrf_token": token,
        **form_fields(),
        "delivery_file": FileStorage(io.BytesIO(big), "video-kelas.pdf"),
    }
    boundary, body = encode_multipart(fields)  # in memory: no temporary file left open
    created = client.post(
        items_path(owner, "/new"),
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
    )

    assert created.status_code == 303
    [file] = table_rows(app, MediaFile)
    assert (file["filename"], file["size"]) == ("video-kelas.pdf", len(big))


def test_bad_fields_are_shown_on_the_form_and_nothing_is_made(app, client, owner):
    cases = [
        ({"name": ""}, "name", "Give the item a name"),
        ({"price": "empat puluh"}, "price", "whole number"),
        ({"price": ""}, "price", "Enter the amount"),
        (
            {"price_mode": "flexible", "price": "", "min_amount": ""},
            "min_amount",
            "Enter the amount",
        ),
        ({"slug": "Bukan Slug"}, "slug", "a-z"),
        ({"stock": "-3"}, "stock", "whole number"),
    ]
    for fields, field, words in cases:
        response = create(client, owner, **fields)
        assert response.status_code == 200, fields
        page = soup(response)
        assert page.find(id=field)["aria-invalid"] == "true", fields
        assert words in page.get_text(), fields
    lying = create(client, owner, image=(io.BytesIO(b"<html>hi</html>"), "foto.png"))
    assert lying.status_code == 303  # the item is saved, the image is not
    assert "image was not saved" in text_of(client.get(lying.headers["Location"]))
    [row] = table_rows(app, Item)
    assert row["image_ref"] is None


def test_a_slug_taken_elsewhere_is_said_on_its_field(client, owner, strangers):
    new_item(client, strangers, slug="resep-rahasia")

    response = create(client, owner, slug="resep-rahasia")

    assert response.status_code == 200
    assert "taken" in soup(response).find(id="slug").find_next("span").get_text()


def test_editing_keeps_units_taken_while_the_form_was_open(
    app, client, owner, project, fake_midtrans
):
    item = new_item(client, project, stock=5)
    edit = items_path(owner, f"/{item['item_id']}")
    token = csrf_token_in(client.get(edit))
    checkout(client, project, item["item_id"], quantity=2)  # a buyer, meanwhile

    saved = client.post(
        edit,
        data={"csrf_token": token, **form_fields(name="Kopi Baru", price="30000", stock="5"),
              "stock_was": "5"},
    )  # fmt: skip

    assert saved.status_code == 303
    [row] = table_rows(app, Item)
    assert (row["name"], row["price"], row["stock"]) == ("Kopi Baru", 30000, 3)


def test_the_list_shows_sales_and_revenue_per_item(app, client, owner, project, fake_midtrans):
    kopi = new_item(client, project, name="Kopi")
    new_item(client, project, name="Teh")
    for quantity in (1, 3):
        pid = checkout(client, project, kopi["item_id"], quantity=quantity).get_json()[
            "purchase_id"
        ]
        settle(client, fake_midtrans, pid, gross_amount=f"{25000 * quantity}.00")
    checkout(client, project, kopi["item_id"])  # pending: not a sale

    page = soup(client.get(items_path(owner)))

    kopi_row = page.find("tr", attrs={"data-item-id": kopi["item_id"]})
    assert kopi_row.find(class_="sold").get_text(" ", strip=True) == "4 (2 payments)"
    assert kopi_row.find(class_="revenue").get_text(strip=True) == "Rp100.000"


def test_the_qr_code_reads_back_as_the_link(client, owner, project):
    item = new_item(client, project)

    svg = client.get(items_path(owner, f"/{item['item_id']}/qr.svg"))
    png = client.get(items_path(owner, f"/{item['item_id']}/qr.png?download=1"))

    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml"
    assert png.status_code == 200 and png.mimetype == "image/png"
    assert png.data.startswith(b"\x89PNG")
    assert "attachment" in png.headers["Content-Disposition"]
    expected = segno.make(item["link_url"], error="m")
    assert svg.data.count(b"<path") >= 1
    buffer = io.BytesIO()
    expected.save(buffer, kind="svg", scale=8, border=2)
    assert svg.data == buffer.getvalue()  # exactly the code of this item's link


def test_archive_from_the_portal_stops_the_link(client, owner, project):
    item = new_item(client, project)

    archived = post_with_token(client, items_path(owner, f"/{item['item_id']}/archive"))

    assert archived.status_code == 303
    assert "Tidak tersedia" in text_of(client.get(f"/i/{item['slug']}"))


def test_a_new_download_link_is_issued_from_the_payment_page(
    app, client, owner, project, fake_midtrans
):
    item = new_item(client, project, delivery={"type": "content", "content": "KODE-123"})
    pid = checkout(client, project, item["item_id"]).get_json()["purchase_id"]
    settle(client, fake_midtrans, pid, gross_amount="25000.00")
    old = path_of(delivery_url(app))
    payment_page = f"/projects/{owner}/payments/{pid}"
    assert "10 downloads left" in text_of(client.get(payment_page))

    issued = post_with_token(client, f"{payment_page}/delivery-link")

    assert issued.status_code == 303
    assert client.get(old).status_code == 410
    shown = text_of(client.get(payment_page))
    assert "New download link: http://lunas.test/d/" in shown
    new = "/d/" + shown.split("http://lunas.test/d/")[1].split()[0]
    assert client.get(new).status_code == 200
    assert len(table_rows(app, DeliveryLink)) == 2


def test_no_new_link_for_a_refunded_payment(app, client, owner, project, fake_midtrans):
    item = new_item(client, project, delivery={"type": "content", "content": "KODE-123"})
    pid = checkout(client, project, item["item_id"]).get_json()["purchase_id"]
    settle(client, fake_midtrans, pid, gross_amount="25000.00", payment_type="qris")
    assert refund(client, project, pid).status_code in (200, 201)

    post_with_token(client, f"/projects/{owner}/payments/{pid}/delivery-link")

    assert "No new link" in text_of(client.get(f"/projects/{owner}/payments/{pid}"))
    assert all(link["revoked_at"] is not None for link in table_rows(app, DeliveryLink))


def test_another_tenants_items_are_404_everywhere(client, owner, strangers):
    theirs = new_item(client, strangers, name="Milik Orang")
    base = items_path(owner, f"/{theirs['item_id']}")

    assert client.get(base).status_code == 404
    assert client.get(f"{base}/qr.svg").status_code == 404
    assert post_with_token(client, f"{base}/archive").status_code == 404
    assert post_with_token(client, f"{base}/delivery/remove").status_code == 404
    assert client.get(f"/projects/{strangers.project_id}/items").status_code == 404
    assert "Milik Orang" not in text_of(client.get(items_path(owner)))


def test_a_form_without_its_csrf_token_changes_nothing(app, client, owner):
    response = client.post(items_path(owner, "/new"), data=form_fields())

    assert response.status_code == 400
    assert table_rows(app, Item) == []
