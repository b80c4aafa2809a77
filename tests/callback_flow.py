"""Helpers for the buyer's callback page tests: create a payment through the platform API and move
it with signed Midtrans notifications, the way it happens in production."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from typing import Any

from tests.conftest import SERVER_KEY
from tests.fakes import FakeMidtrans
from tests.helpers import ProjectKeys, checkout_body, notification

CHECKOUT_URL = "/api/platform/shop-payment"
NOTIFY_URL = "/api/midtrans/notification"
CALLBACK_URL = "/purchase/callback"

# Every Lunas status, and the Midtrans transaction_status that leads to it.
MIDTRANS_STATUS = {
    "settlement": "settlement",
    "pending": "pending",
    "cancel": "cancel",
    "expire": "expire",
    "refund": "refund",
    "partial_refund": "partial_refund",
}
TITLES = {
    "settlement": "Pembayaran berhasil",
    "pending": "Menunggu pembayaran",
    "cancel": "Pembayaran gagal atau dibatalkan",
    "expire": "Pembayaran kedaluwarsa",
    "refund": "Dana dikembalikan",
    "partial_refund": "Dana dikembalikan sebagian",
    "not_found": "Pesanan tidak ditemukan",
}


def create_payment(client, project: ProjectKeys, **fields: Any) -> str:
    """A pending sandbox payment through the platform API (75 000 IDR unless told); its id."""
    response = client.post(CHECKOUT_URL, json=checkout_body(project, **fields))
    assert response.status_code == 201, response.get_json()
    return response.get_json()["purchase_id"]


def midtrans_says(
    fake: FakeMidtrans, purchase_id: str, lunas_status: str, gross_amount: str = "75000.00"
) -> str:
    """Program Get Status and return the signed notification Midtrans would send (JSON text)."""
    transaction_status = MIDTRANS_STATUS[lunas_status]
    fake.set_status(purchase_id, transaction_status, gross_amount)
    body = notification(purchase_id, transaction_status, SERVER_KEY, gross_amount=gross_amount)
    return json.dumps(body)


def move_to(client, fake: FakeMidtrans, purchase_id: str, lunas_status: str) -> None:
    """Through the Flask test client: Midtrans notifies, Lunas confirms and applies."""
    if lunas_status == "pending":
        return
    response = client.post(
        NOTIFY_URL,
        data=midtrans_says(fake, purchase_id, lunas_status),
        content_type="application/json",
    )
    assert response.status_code == 200, response.get_json()


class ParsedPage(HTMLParser):
    """The parts of an HTML page the tests look at: every tag's attributes, and the text."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text_parts: list[str] = []
        self._skip = 0
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag in ("script", "style"):
            self._skip += 1

    def handle_endtag(self, tag):
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.text_parts.append(data)

    @property
    def text(self) -> str:
        return " ".join(" ".join(self.text_parts).split())

    def find(self, tag: str, **wanted: str) -> list[dict[str, str | None]]:
        return [
            attrs
            for name, attrs in self.tags
            if name == tag and all(attrs.get(key) == value for key, value in wanted.items())
        ]
