"""Helpers for the buyer's callback page tests: move a payment made through the platform API with
signed Midtrans notifications, the way it happens in production."""

from __future__ import annotations

import json

from tests.fakes import FakeMidtrans
from tests.webhook_flow import midtrans_moves, midtrans_reports

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


def midtrans_says(
    fake: FakeMidtrans, purchase_id: str, lunas_status: str, gross_amount: str = "75000.00"
) -> str:
    """Program Get Status and return the signed notification Midtrans would send (JSON text)."""
    return json.dumps(
        midtrans_reports(fake, purchase_id, MIDTRANS_STATUS[lunas_status], gross_amount)
    )


def move_to(client, fake: FakeMidtrans, purchase_id: str, lunas_status: str) -> None:
    """Through the Flask test client: Midtrans notifies, Lunas confirms and applies."""
    if lunas_status == "pending":
        return
    response = midtrans_moves(client, fake, purchase_id, MIDTRANS_STATUS[lunas_status])
    assert response.status_code == 200, response.get_json()
