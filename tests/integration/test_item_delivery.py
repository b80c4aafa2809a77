"""An item's image and delivery (SPEC §13): uploads judged by their content, the delivery
reachable only through the signed link a settlement issues (7 days, 10 downloads, revoked by
a refund or a reversal), and every upload endpoint scoped to its tenant."""

from __future__ import annotations

import struct
import zlib
from datetime import timedelta
from urllib.parse import urlsplit

import pytest

from app.models import DeliveryLink, Item, MediaFile
from tests.helpers import soup, table_rows, text_of
from tests.integration.test_items import ITEMS_URL, checkout, new_item, refused
from tests.webhook_flow import midtrans_moves, payloads, settle

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00"
    b"\x00\x00\x00IEND\xaeB`\x82"
)


def png(width: int, height: int) -> bytes:
    """A real PNG of warm diagonal bands (a product photo's stand-in), made without a library."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    palette = [(0xE8, 0x8D, 0x3A), (0xF4, 0xC4, 0x6B), (0x9C, 0x4A, 0x1F)]
    rows = b"".join(
        b"\x00" + b"".join(bytes(palette[((x + y) // 40) % 3]) for x in range(width))
        for y in range(height)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n" + b"x" * 5000
SECRET_TEXT = "Kode lisensi: LUNAS-1234-ABCD"


BOUNDARY = "lunas-test-boundary"


def multipart(data: bytes, filename: str) -> bytes:
    """A multipart body with one `file` field, as a merchant's HTTP library sends it."""
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; '
        f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'
    )
    return head.encode() + data + f"\r\n--{BOUNDARY}--\r\n".encode()


def upload(client, keys, item_id: str, what: str, data: bytes, filename: str):
    return client.put(
        f"{ITEMS_URL}/{item_id}/{what}",
        data=multipart(data, filename),
        content_type=f"multipart/form-data; boundary={BOUNDARY}",
        headers=keys.auth(),
    )


def fetch(client, url: str):
    """GET, the body read and the response closed (a served file is an open file until then)."""
    response = client.get(path_of(url))
    response.get_data()
    response.close()
    return response


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def paid_item_checkout(client, project, fake_midtrans, item: dict, price: int = 25000) -> str:
    purchase_id = checkout(client, project, item["item_id"]).get_json()["purchase_id"]
    settle(client, fake_midtrans, purchase_id, gross_amount=f"{price}.00")
    return purchase_id


def delivery_url(app) -> str:
    [event] = payloads(app, "item.purchased")
    return event["delivery"]["url"]


# -- uploads -----------------------------------------------------------------------------------


def test_an_image_is_judged_by_its_content_and_served_publicly(app, client, project):
    item = new_item(client, project)

    liar = upload(client, project, item["item_id"], "image", b"<html><script>x</script>", "a.png")
    refused(liar, 400, "invalid_request", "file")
    stored = upload(client, project, item["item_id"], "image", PNG, "kopi.png")

    assert stored.status_code == 200, stored.get_json()
    image_url = stored.get_json()["image_url"]
    assert image_url.startswith("http://lunas.test/media/")
    served = fetch(client, image_url)
    assert served.status_code == 200
    assert served.mimetype == "image/png" and served.data == PNG
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert len(table_rows(app, MediaFile)) == 1  # the refused one left nothing behind

    replaced = upload(client, project, item["item_id"], "image", PNG, "lagi.png").get_json()
    assert fetch(client, image_url).status_code == 404  # the old one is gone
    assert fetch(client, replaced["image_url"]).status_code == 200
    removed = client.delete(f"{ITEMS_URL}/{item['item_id']}/image", headers=project.auth())
    assert removed.get_json()["image_url"] is None
    assert table_rows(app, MediaFile) == []


def test_an_image_over_two_megabytes_is_refused(client, project):
    item = new_item(client, project)
    big = PNG + b"\x00" * (2 * 1024 * 1024)

    response = upload(client, project, item["item_id"], "image", big, "big.png")

    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "payload_too_large"
    assert (
        client.get(f"{ITEMS_URL}/{item['item_id']}", headers=project.auth()).get_json()["image_url"]
        is None
    )


def test_a_delivery_file_is_described_never_served_before_payment(app, client, project):
    item = new_item(client, project)

    response = upload(client, project, item["item_id"], "delivery", PDF, "../../panduan.pdf")

    assert response.status_code == 200, response.get_json()
    assert response.get_json()["delivery"] == {
        "type": "file",
        "filename": "panduan.pdf",
        "size": len(PDF),
    }
    [file] = table_rows(app, MediaFile)
    # Not by the image route, whatever its key; there is no other route to it.
    assert client.get(f"/media/{file['key']}").status_code == 404
    assert table_rows(app, DeliveryLink) == []


def test_hidden_text_is_set_in_json_stored_encrypted_and_never_echoed(app, client, project):
    item = new_item(client, project, delivery={"type": "content", "content": SECRET_TEXT})

    assert item["delivery"] == {"type": "content"}
    [row] = table_rows(app, Item)
    assert SECRET_TEXT not in row["delivery_content"]
    read = client.get(f"{ITEMS_URL}/{item['item_id']}", headers=project.auth()).get_json()
    assert SECRET_TEXT not in str(read)
    for bad in (
        {"type": "file"},
        {"type": "content", "content": ""},
        {"type": "content", "content": "x" * 10_001},
        "text",
    ):
        refused(
            client.patch(
                f"{ITEMS_URL}/{item['item_id']}", json={"delivery": bad}, headers=project.auth()
            ),
            400,
            "invalid_request",
            "delivery",
        )
    cleared = client.patch(
        f"{ITEMS_URL}/{item['item_id']}", json={"delivery": None}, headers=project.auth()
    )
    assert cleared.get_json()["delivery"] is None


def test_uploads_need_multipart_and_a_file(client, project):
    item = new_item(client, project)
    url = f"{ITEMS_URL}/{item['item_id']}/delivery"

    as_json = client.put(url, json={"file": "x"}, headers=project.auth())
    no_file = client.put(url, data={}, content_type="multipart/form-data", headers=project.auth())
    no_keys = client.put(
        url,
        data=multipart(PDF, "a.pdf"),
        content_type=f"multipart/form-data; boundary={BOUNDARY}",
    )

    assert as_json.status_code == 415
    refused(no_file, 400, "invalid_request", "file")
    assert no_keys.status_code == 401


def test_another_tenants_item_cannot_be_uploaded_to_or_cleared(client, project, strangers):
    item = new_item(client, project, delivery={"type": "content", "content": SECRET_TEXT})

    for what in ("image", "delivery"):
        refused(upload(client, strangers, item["item_id"], what, PNG, "a.png"), 404, "not_found")
        refused(
            client.delete(f"{ITEMS_URL}/{item['item_id']}/{what}", headers=strangers.auth()),
            404,
            "not_found",
        )
    read = client.get(f"{ITEMS_URL}/{item['item_id']}", headers=project.auth()).get_json()
    assert read["delivery"] == {"type": "content"}


# -- the buyer's link --------------------------------------------------------------------------


def test_a_settled_checkout_gets_its_file_through_the_signed_link(
    app, client, project, fake_midtrans
):
    item = new_item(client, project)
    upload(client, project, item["item_id"], "delivery", PDF, "panduan.pdf")
    pending = checkout(client, project, item["item_id"]).get_json()["purchase_id"]
    pending_page = client.get(f"/purchase/callback?order_id={pending}")
    assert soup(pending_page).find(id="delivery") is None
    assert table_rows(app, DeliveryLink) == []

    settle(client, fake_midtrans, pending, gross_amount="25000.00")

    [event] = payloads(app, "item.purchased")
    assert event["delivery"]["type"] == "file"
    url = event["delivery"]["url"]
    assert url.startswith("http://lunas.test/d/")
    page = soup(client.get(f"/purchase/callback?order_id={pending}"))
    button = page.find(id="delivery-download")
    assert button is not None and button["href"] == url
    assert page.find("meta", attrs={"http-equiv": "refresh"}) is None  # no redirect away
    download = fetch(client, url)
    assert download.status_code == 200
    assert download.data == PDF
    assert download.mimetype == "application/pdf"
    assert download.headers["Content-Disposition"] == "attachment; filename=panduan.pdf"
    assert download.headers["X-Content-Type-Options"] == "nosniff"


def test_hidden_text_shows_on_the_callback_page_and_its_link_only_once_paid(
    app, client, project, fake_midtrans
):
    item = new_item(client, project, delivery={"type": "content", "content": SECRET_TEXT})
    purchase_id = checkout(client, project, item["item_id"]).get_json()["purchase_id"]
    assert SECRET_TEXT not in client.get(f"/purchase/callback?order_id={purchase_id}").text

    settle(client, fake_midtrans, purchase_id, gross_amount="25000.00")

    assert SECRET_TEXT in text_of(client.get(f"/purchase/callback?order_id={purchase_id}"))
    opened = client.get(path_of(delivery_url(app)))
    assert opened.status_code == 200 and SECRET_TEXT in text_of(opened)


def test_a_link_opens_ten_times_then_says_it_is_used_up(app, client, project, fake_midtrans):
    item = new_item(client, project, delivery={"type": "content", "content": SECRET_TEXT})
    purchase_id = paid_item_checkout(client, project, fake_midtrans, item)
    path = path_of(delivery_url(app))

    heads = [client.head(path).status_code for _ in range(3)]  # a HEAD counts nothing
    statuses = [client.get(path).status_code for _ in range(11)]

    assert heads == [200] * 3
    assert statuses == [200] * 10 + [410]
    assert client.head(path).status_code == 410
    assert "10 kali" in text_of(client.get(path))
    page = soup(client.get(f"/purchase/callback?order_id={purchase_id}"))
    assert page.find(id="delivery-gone") is not None
    assert SECRET_TEXT not in page.get_text()


def test_a_link_expires_after_seven_days(app, client, project, fake_midtrans, clock):
    item = new_item(client, project, delivery={"type": "content", "content": SECRET_TEXT})
    paid_item_checkout(client, project, fake_midtrans, item)
    path = path_of(delivery_url(app))

    clock.shift(timedelta(days=6, hours=23))
    assert client.get(path).status_code == 200
    clock.shift(timedelta(hours=2))
    gone = client.get(path)

    assert gone.status_code == 410
    assert "kedaluwarsa" in text_of(gone)


@pytest.mark.parametrize("status", ["refund", "cancel"])
def test_a_refund_or_a_reversal_revokes_the_link(app, client, project, fake_midtrans, status):
    item = new_item(client, project, delivery={"type": "content", "content": SECRET_TEXT})
    purchase_id = paid_item_checkout(client, project, fake_midtrans, item)
    path = path_of(delivery_url(app))
    assert client.get(path).status_code == 200
    extra = {"refund_amount": "25000.00"} if status == "refund" else {}

    moved = midtrans_moves(
        client, fake_midtrans, purchase_id, status, gross_amount="25000.00", **extra
    )

    assert moved.status_code == 200
    assert client.get(path).status_code == 410
    assert SECRET_TEXT not in client.get(f"/purchase/callback?order_id={purchase_id}").text


def test_a_forged_or_mangled_token_opens_nothing(app, client, project, fake_midtrans):
    item = new_item(client, project, delivery={"type": "content", "content": SECRET_TEXT})
    paid_item_checkout(client, project, fake_midtrans, item)
    path = path_of(delivery_url(app))
    [link] = table_rows(app, DeliveryLink)

    for forged in (path[:-2] + "xx", "/d/1", f"/d/{link['id']}", "/d/" + "A" * 500):
        response = client.get(forged)
        assert response.status_code == 404, forged
        assert SECRET_TEXT not in response.text
    assert table_rows(app, DeliveryLink)[0]["downloads"] == 0


def test_a_removed_delivery_stops_the_links_already_given(app, client, project, fake_midtrans):
    item = new_item(client, project)
    upload(client, project, item["item_id"], "delivery", PDF, "panduan.pdf")
    paid_item_checkout(client, project, fake_midtrans, item)
    path = path_of(delivery_url(app))

    client.delete(f"{ITEMS_URL}/{item['item_id']}/delivery", headers=project.auth())

    assert client.get(path).status_code == 410
    assert table_rows(app, MediaFile) == []
    files = [path for path in app.config["MEDIA_DIR"].rglob("*") if path.is_file()]
    assert files == []  # the bytes went with the row
