"""Midtrans transaction_status (with fraud_status) → the Lunas payment status."""

from __future__ import annotations

from app.models.payment import PaymentStatus as S

# The status_code Midtrans puts in an HTTP notification for each transaction_status (Get Status
# answers differ for cancel, 200, and expire, 407).
NOTIFICATION_STATUS_CODES = {
    "pending": "201",
    "authorize": "201",
    "capture": "200",
    "settlement": "200",
    "refund": "200",
    "partial_refund": "200",
    "chargeback": "200",
    "partial_chargeback": "200",
    "deny": "202",
    "cancel": "202",
    "expire": "202",
    "failure": "202",
}


def map_midtrans_status(transaction_status: str, fraud_status: str | None) -> S | None:
    """The Lunas status for a Midtrans status, or None when Midtrans says something unknown."""
    fraud = (fraud_status or "").lower()
    match transaction_status.lower():
        case "settlement":
            return S.SETTLEMENT
        case "capture":
            if fraud in ("", "accept"):
                return S.SETTLEMENT
            if fraud == "challenge":
                return S.PENDING
            if fraud == "deny":
                return S.CANCEL
            return None
        case "pending" | "authorize":
            return S.PENDING
        case "deny" | "cancel" | "failure":
            return S.CANCEL
        case "expire":
            return S.EXPIRE
        case "refund" | "chargeback":
            return S.REFUND
        case "partial_refund" | "partial_chargeback":
            return S.PARTIAL_REFUND
    return None
