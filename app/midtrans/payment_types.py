"""Midtrans's payment methods, as ../shared/midtrans.md records them: the names Snap accepts
in `enabled_payments`, which transactions the refund API takes, which end by cancel rather
than expire, and where a notification names the concrete bank, wallet or store."""

from __future__ import annotations

from typing import Any

# Snap's `enabled_payments` names that Lunas passes on (SPEC §11.1), in the order shown.
SNAP_PAYMENTS = (
    "credit_card",
    "gopay",
    "shopeepay",
    "other_qris",
    "bca_va",
    "bni_va",
    "bri_va",
    "permata_va",
    "cimb_va",
    "echannel",
    "other_va",
    "indomaret",
    "alfamart",
    "akulaku",
    "kredivo",
)
SNAP_PAYMENT_ALIASES = {"qris": "other_qris"}

# The `payment_type`s Midtrans refunds through POST /v2/{order_id}/refund ("Refunds, cancel
# and expire"): cards, e-wallets, QRIS and the pay-later methods. Bank transfer (VA),
# echannel and the convenience stores are refunded outside Midtrans, by the merchant.
REFUNDABLE_PAYMENT_TYPES = frozenset(
    {"credit_card", "gopay", "shopeepay", "dana", "ovo", "qris", "kredivo", "akulaku"}
)

# A pending card transaction ends with /cancel; every other method with /expire.
CANCELLED_NOT_EXPIRED = frozenset({"credit_card"})


def payment_channel(midtrans: dict[str, Any]) -> str | None:
    """The concrete bank, issuer or store a Midtrans transaction names (SPEC §11.1), or None."""
    payment_type = midtrans.get("payment_type")
    va_numbers = midtrans.get("va_numbers")
    if isinstance(va_numbers, list) and va_numbers and isinstance(va_numbers[0], dict):
        return _text(va_numbers[0].get("bank"))
    if midtrans.get("permata_va_number"):
        return "permata"
    if payment_type == "echannel":
        return "mandiri"
    if payment_type == "cstore":
        return _text(midtrans.get("store"))
    if payment_type == "qris":
        return _text(midtrans.get("issuer")) or _text(midtrans.get("acquirer"))
    if payment_type == "credit_card":
        return _text(midtrans.get("bank"))
    return None


def _text(value: Any) -> str | None:
    return value[:32].lower() if isinstance(value, str) and value else None
