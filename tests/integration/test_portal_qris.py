"""Tools → QRIS in the portal (SPEC §14): paste or upload a code, see every field, make the
dynamic code and download it as PNG and SVG; every mistake said on its field."""

from __future__ import annotations

import io

import pytest
import zxingcpp
from PIL import Image

from app import qris
from tests.helpers import csrf_token_in, soup
from tests.integration.test_qris_api import picture
from tests.portal_client import log_in
from tests.unit.test_qris import DANA_DYNAMIC, DANA_STATIC

TOOL = "/tools/qris"


@pytest.fixture
def owner(client, project):
    log_in(client)
    return project


def submit(client, action: str = "read", **fields):
    token = csrf_token_in(client.get(TOOL))
    data = {"csrf_token": token, "qris": "", "amount": "", "fee": "none", "fee_value": ""}
    return client.post(
        TOOL,
        data={**data, **fields, "action": action},
        content_type="multipart/form-data",
    )


def words(element) -> str:
    return element.get_text(" ", strip=True)


def field_errors(page) -> list[str]:
    return [error.get_text(" ", strip=True) for error in soup(page).select(".field-error")]


def test_the_tool_is_in_the_portal_navigation_and_needs_a_login(client, owner):
    page = soup(client.get("/projects"))
    assert page.find("a", href=TOOL) is not None

    client.post("/logout", data={"csrf_token": csrf_token_in(client.get("/projects"))})
    assert client.get(TOOL).status_code in (302, 303)


def test_a_pasted_code_shows_every_field_and_nested_template(client, owner):
    response = submit(client, qris=DANA_DYNAMIC + "\n")

    assert response.status_code == 200
    page = soup(response)
    assert words(page.select_one("#qris-merchant")) == "XENDIT"
    assert words(page.select_one("#qris-nmid")) == "ID2021080732989"
    assert "10.000" in words(page.select_one("#qris-amount"))
    tags = [row["data-tag"] for row in page.select(".qris-fields tbody tr:not(.sub-field)")]
    assert tags == [f.tag for f in qris.read(DANA_DYNAMIC).fields]
    # Tag 51's sub-fields, each with its value: the NMID among them.
    assert "ID2021080732989" in words(page.select_one(".qris-fields"))
    assert len(page.select(".qris-fields tr.sub-field")) == 4 + 3 + 2
    assert page.select_one("#qris-result") is None


def test_an_uploaded_photo_with_an_amount_and_a_fee_gives_the_dynamic_code(client, owner):
    response = submit(
        client,
        action="convert",
        image=(io.BytesIO(picture(DANA_STATIC, "jpeg", quality=85)), "stiker.jpg"),
        amount="Rp 75.000",
        fee="percent",
        fee_value="0,7",
    )

    assert response.status_code == 200, field_errors(response)
    page = soup(response)
    dynamic = words(page.select_one("#qris-dynamic"))
    code = qris.read(dynamic)
    assert (code.amount, code.value("55"), code.value("57")) == (75000, "03", "0.7")
    assert code.nmid == "ID1026564075103"

    png = client.get(page.select_one("#qris-result a.button")["href"])
    assert png.status_code == 200 and png.mimetype == "image/png"
    assert "attachment" in png.headers["Content-Disposition"]
    assert "qris-75000.png" in png.headers["Content-Disposition"]
    [found] = zxingcpp.read_barcodes(Image.open(io.BytesIO(png.get_data())))
    assert found.text == dynamic
    svg = client.get(page.select_one("#qris-result img.qr")["src"])
    assert svg.mimetype == "image/svg+xml" and b"<svg" in svg.get_data()


def test_every_mistake_is_said_on_its_field(client, owner):
    assert "Paste the code" in " ".join(field_errors(submit(client)))
    assert "CRC mismatch" in " ".join(field_errors(submit(client, qris=DANA_STATIC[:-4] + "0000")))
    assert "Write the amount" in " ".join(field_errors(submit(client, "convert", qris=DANA_STATIC)))
    assert "whole rupiah" in " ".join(
        field_errors(submit(client, "convert", qris=DANA_STATIC, amount="12,5"))
    )
    assert "percentage" in " ".join(
        field_errors(
            submit(
                client, "convert", qris=DANA_STATIC, amount="5000", fee="percent", fee_value="200"
            )
        )
    )
    no_qr = submit(client, image=(io.BytesIO(b"not a picture"), "catatan.png"))
    assert "not a PNG, JPEG or WebP" in " ".join(field_errors(no_qr))


def test_the_drawing_endpoint_draws_only_valid_codes(client, owner):
    assert client.get(f"{TOOL}/qr.png", query_string={"code": "hello"}).status_code == 400
    assert client.get(f"{TOOL}/qr.gif", query_string={"code": DANA_STATIC}).status_code == 404
    static = client.get(f"{TOOL}/qr.svg", query_string={"code": DANA_STATIC, "download": "1"})
    assert static.status_code == 200
    assert "qris-static.svg" in static.headers["Content-Disposition"]


def test_the_form_refuses_a_post_without_its_csrf_token(client, owner):
    response = client.post(TOOL, data={"qris": DANA_STATIC, "action": "read"})

    assert response.status_code == 400
    assert soup(response).select_one("#qris-info") is None
