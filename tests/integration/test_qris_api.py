"""The QRIS tools over HTTP (SPEC §14): info by GET and POST, convert from text or from a
picture (PNG, JPEG, WebP, a phone's tilted photo), the converted code scanned back from the
PNG we return, and every refusal in the error envelope with the tag at fault."""

from __future__ import annotations

import base64
import io
import struct
import xml.etree.ElementTree as ET
import zlib

import pytest
import segno
import zxingcpp
from PIL import Image, ImageDraw

from app import qris
from tests.merchant_api import api_get, api_post
from tests.unit.test_qris import DANA_DYNAMIC, DANA_STATIC, PIX_MANUAL

INFO_URL = "/api/platform/qris/info"
CONVERT_URL = "/api/platform/qris/convert"
INFO_FIELDS = {
    "valid", "is_dynamic", "merchant_name", "merchant_city", "postal_code", "country",
    "currency", "amount", "merchant_accounts", "nmid", "crc", "merchant_category_code", "fee",
}  # fmt: skip


def refused(response, status: int, code: str, field: str | None = None, tag: str | None = None):
    assert response.status_code == status, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == code
    assert error.get("field") == field
    assert error.get("tag") == tag
    assert error["message"]
    return error


def picture(text: str, kind: str = "png", **save) -> bytes:
    """`text` as a QR code picture, the way a merchant photographs or saves a sticker."""
    buffer = io.BytesIO()
    segno.make(text, error="m").save(buffer, kind="png", scale=6, border=4)
    if kind == "png":
        return buffer.getvalue()
    image = Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")
    out = io.BytesIO()
    image.save(out, format=kind, **save)
    return out.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def scanned(png_base64: str) -> str:
    """What a buyer's banking app reads from the PNG we hand back."""
    image = Image.open(io.BytesIO(base64.b64decode(png_base64)))
    [found] = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
    return found.text


def convert(client, keys, **body):
    return api_post(client, keys, CONVERT_URL, body)


# -- info ----------------------------------------------------------------------------------------


def test_info_by_get_reads_every_field_of_a_dynamic_qris(client, project):
    response = api_get(client, project, INFO_URL, qris=DANA_DYNAMIC)

    assert response.status_code == 200, response.get_json()
    info = response.get_json()
    assert set(info) == INFO_FIELDS
    assert info["valid"] is True and info["is_dynamic"] is True
    assert (info["merchant_name"], info["merchant_city"]) == ("XENDIT", "Kota Jakarta Se")
    assert (info["postal_code"], info["country"], info["currency"]) == ("12190", "ID", "360")
    assert info["amount"] == 10000
    assert info["nmid"] == "ID2021080732989"
    assert info["crc"] == "B00A"
    assert info["merchant_category_code"] == "8931"
    assert info["fee"] is None
    assert info["merchant_accounts"] == [
        {"tag": "26", "gui": "ID.DANA.WWW", "pan": "936009150157060561", "id": "157060561",
         "criteria": "UME"},
        {"tag": "51", "gui": "ID.CO.QRIS.WWW", "pan": None, "id": "ID2021080732989",
         "criteria": "UME"},
    ]  # fmt: skip


def test_info_by_post_with_credentials_in_the_body_reads_a_static_qris(client, project):
    response = client.post(INFO_URL, json={**project.body(), "qris": DANA_STATIC + "\n"})

    assert response.status_code == 200, response.get_json()
    info = response.get_json()
    assert (info["is_dynamic"], info["amount"], info["crc"]) == (False, None, "8DC1")
    assert info["merchant_name"] == "BoonTrack"


@pytest.mark.parametrize(
    ("text", "tag", "words"),
    [
        (DANA_STATIC[:-4] + "0000", "63", "CRC mismatch"),
        (DANA_STATIC[:-8], "63", "must end with its CRC"),
        (
            (lambda body: body + "6304" + qris.checksum(body + "6304"))(
                DANA_STATIC[:-8].replace("5802ID", "")
            ),
            "58",
            "missing",
        ),
        (
            (lambda body: body + "6304" + qris.checksum(body + "6304"))(
                DANA_STATIC[:-8].replace("5303360", "5303360540650.000")
            ),
            "54",
            "whole rupiah",
        ),
        ("hello", "63", "must end with its CRC"),
    ],
)
def test_info_refuses_a_malformed_code_naming_the_tag(client, project, text, tag, words):
    error = refused(api_get(client, project, INFO_URL, qris=text), 400, "invalid_qris", "qris", tag)

    assert words in error["message"]


def test_info_refuses_what_is_not_a_request_for_it(client, project):
    refused(api_get(client, project, INFO_URL), 400, "invalid_request", "qris")
    refused(
        api_get(client, project, INFO_URL, qris=DANA_STATIC, nominal="5"),
        400,
        "invalid_request",
        "nominal",
    )
    refused(api_post(client, project, INFO_URL, {"qris": 12}), 400, "invalid_request", "qris")
    refused(client.get(INFO_URL, query_string={"qris": DANA_STATIC}), 401, "invalid_client")
    empty = refused(
        api_post(client, project, INFO_URL, {"qris": "  "}), 400, "invalid_qris", "qris"
    )
    assert "empty" in empty["message"]


# -- convert from text ---------------------------------------------------------------------------


def test_convert_gives_a_dynamic_code_and_a_qr_a_banking_app_scans_back(client, project):
    response = convert(client, project, qris=DANA_STATIC, amount=50000)

    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert set(body) == {"qris", "amount", "merchant_name", "qr_svg", "qr_png_base64"}
    assert (body["amount"], body["merchant_name"]) == (50000, "BoonTrack")
    code = qris.read(body["qris"])
    assert code.is_dynamic and code.amount == 50000 and code.nmid == "ID1026564075103"
    assert scanned(body["qr_png_base64"]) == body["qris"]
    svg = ET.fromstring(body["qr_svg"])  # noqa: S314 - our own answer, read back
    assert svg.tag.endswith("svg") and svg.find(".//{http://www.w3.org/2000/svg}path") is not None
    # The amount the buyer's app shows is the amount asked for: read it as info would.
    info = api_get(client, project, INFO_URL, qris=body["qris"]).get_json()
    assert (info["amount"], info["is_dynamic"]) == (50000, True)


def test_convert_with_a_fee_and_again_with_the_same_amount(client, project):
    fixed = convert(client, project, qris=DANA_STATIC, amount=50000, fee_fixed=2500).get_json()
    percent = convert(client, project, qris=DANA_STATIC, amount=50000, fee_percent=0.7).get_json()

    assert api_get(client, project, INFO_URL, qris=fixed["qris"]).get_json()["fee"] == {
        "type": "fixed",
        "amount": 2500,
    }
    assert qris.read(percent["qris"]).value("57") == "0.7"
    again = convert(client, project, qris=fixed["qris"], amount=50000, fee_fixed=2500)
    assert again.get_json()["qris"] == fixed["qris"]


def test_convert_replaces_the_amount_of_a_dynamic_code(client, project):
    body = convert(client, project, qris=DANA_DYNAMIC, amount=12345).get_json()

    assert qris.read(body["qris"]).amount == 12345


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"qris": DANA_STATIC}, "amount"),
        ({"qris": DANA_STATIC, "amount": 0}, "amount"),
        ({"qris": DANA_STATIC, "amount": "50000"}, "amount"),
        ({"qris": DANA_STATIC, "amount": 1_000_000_000_000}, "amount"),
        ({"amount": 5000}, "qris"),
        ({"qris": DANA_STATIC, "image": "aGk=", "amount": 5000}, "qris"),
        ({"qris": DANA_STATIC, "amount": 5000, "fee_fixed": 1, "fee_percent": 1}, "fee_percent"),
        ({"qris": DANA_STATIC, "amount": 5000, "fee_percent": 0}, "fee_percent"),
        ({"qris": DANA_STATIC, "amount": 5000, "fee_percent": 100.5}, "fee_percent"),
        ({"qris": DANA_STATIC, "amount": 5000, "fee_percent": 1.125}, "fee_percent"),
        ({"qris": DANA_STATIC, "amount": 5000, "fee_fixed": -1}, "fee_fixed"),
        ({"qris": DANA_STATIC, "amount": 5000, "nominal": 5000}, "nominal"),
    ],
)
def test_convert_refuses_bad_fields_by_name(client, project, body, field):
    refused(convert(client, project, **body), 400, "invalid_request", field)


def test_convert_refuses_a_foreign_code_and_a_broken_one_naming_the_tag(client, project):
    refused(
        convert(client, project, qris=PIX_MANUAL, amount=5000), 400, "invalid_qris", "qris", "53"
    )
    refused(
        convert(client, project, qris=DANA_STATIC[:-1] + "0", amount=5000),
        400,
        "invalid_qris",
        "qris",
        "63",
    )


def test_an_idempotency_key_replays_the_conversion(client, project):
    def call(amount: int):
        body = {"qris": DANA_STATIC, "amount": amount}
        return api_post(client, project, CONVERT_URL, body, key="k-1")

    first, second, other = call(7000), call(7000), call(8000)

    assert second.headers.get("Idempotent-Replayed") == "true"
    assert second.get_data() == first.get_data()
    refused(other, 409, "idempotency_key_reused", "Idempotency-Key")


# -- convert from a picture ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "save"),
    [("png", {}), ("jpeg", {"quality": 80}), ("webp", {"quality": 80})],
)
def test_convert_reads_the_code_from_a_picture(client, project, kind, save):
    response = convert(client, project, image=b64(picture(DANA_STATIC, kind, **save)), amount=15000)

    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["qris"] == qris.with_amount(qris.read(DANA_STATIC), 15000).text
    assert scanned(body["qr_png_base64"]) == body["qris"]


def test_convert_reads_a_tilted_photo_sent_as_a_data_url(client, project):
    sticker = Image.open(io.BytesIO(picture(DANA_STATIC))).convert("RGB")
    photo = Image.new("RGB", (sticker.width + 300, sticker.height + 300), (214, 200, 170))
    photo.paste(sticker, (150, 150))
    photo = photo.rotate(17, expand=True, fillcolor=(214, 200, 170))
    out = io.BytesIO()
    photo.save(out, format="JPEG", quality=70)

    data_url = "data:image/jpeg;base64," + b64(out.getvalue())
    response = convert(client, project, image=data_url, amount=20000)

    assert response.status_code == 200, response.get_json()
    assert qris.read(response.get_json()["qris"]).amount == 20000


def _png_header_only(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b""))
        + chunk(b"IEND", b"")
    )


def _blank_png() -> bytes:
    out = io.BytesIO()
    Image.new("L", (200, 200), 255).save(out, format="PNG")
    return out.getvalue()


def _two_codes() -> bytes:
    first = Image.open(io.BytesIO(picture(DANA_STATIC)))
    second = Image.open(io.BytesIO(picture(DANA_DYNAMIC)))
    both = Image.new("L", (first.width + second.width + 40, max(first.height, second.height)), 255)
    both.paste(first, (0, 0))
    both.paste(second, (first.width + 40, 0))
    out = io.BytesIO()
    both.save(out, format="PNG")
    return out.getvalue()


def _gif() -> bytes:
    out = io.BytesIO()
    Image.open(io.BytesIO(picture(DANA_STATIC))).save(out, format="GIF")
    return out.getvalue()


def _scribble() -> bytes:
    image = Image.new("L", (300, 300), 255)
    ImageDraw.Draw(image).rectangle((40, 40, 260, 260), outline=0, width=9)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


@pytest.mark.parametrize(
    ("encoded", "words"),
    [
        (b64(b"this is a text file, not a picture"), "not a PNG, JPEG or WebP"),
        (b64(_gif()), "not a PNG, JPEG or WebP"),
        (b64(_blank_png()), "no QR code"),
        (b64(_scribble()), "no QR code"),
        (b64(_two_codes()), "2 different QR codes"),
        (b64(_png_header_only(50_000, 50_000)), "megapixels"),  # Pillow's own refusal
        (b64(_png_header_only(10_000, 10_000)), "megapixels"),  # Pillow only warns
        (b64(_png_header_only(8_000, 6_000)), "megapixels"),  # ours
        (b64(picture(DANA_STATIC)[:300]), "not a PNG, JPEG or WebP"),  # cut short
        ("not base64 at all!", "base64"),
        ("", "empty"),
    ],
)
def test_convert_refuses_a_picture_it_cannot_read(client, project, encoded, words):
    error = refused(
        convert(client, project, image=encoded, amount=5000), 400, "invalid_image", "image"
    )

    assert words in error["message"]


def test_a_picture_of_a_qr_code_that_is_not_qris_is_refused_as_such(client, project):
    error = refused(
        convert(client, project, image=b64(picture("https://example.com/menu")), amount=5000),
        400,
        "invalid_qris",
        "image",
        "63",
    )

    assert "the QR code in the image is not a QRIS code" in error["message"]


def test_a_picture_over_2_mb_is_refused_and_a_body_over_3_mb_too(client, project):
    big = picture(DANA_STATIC) + b"\0" * (2 * 1024 * 1024)  # a PNG with trailing bytes
    refused(
        convert(client, project, image=b64(big), amount=5000), 413, "payload_too_large", "image"
    )

    body = b'{"amount": 5000, "image": "' + b"A" * (3 * 1024 * 1024) + b'"}'
    response = client.post(
        CONVERT_URL, data=body, content_type="application/json", headers=project.auth()
    )
    refused(response, 413, "payload_too_large")
    assert "3 MB" in response.get_json()["error"]["message"]


def test_the_info_body_keeps_the_64_kb_limit(client, project):
    response = api_post(client, project, INFO_URL, {"qris": "0" * (70 * 1024)})

    refused(response, 413, "payload_too_large")
