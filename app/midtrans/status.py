"""Midtrans transaction_status → Lunas status (SPEC §3.3) and the forward-only transitions."""

from __future__ import annotations

from app.models.payment import PaymentStatus as S


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


_FROM_PENDING = frozenset({S.SETTLEMENT, S.CANCEL, S.EXPIRE, S.REFUND, S.PARTIAL_REFUND})

ALLOWED_TRANSITIONS: dict[S, frozenset[S]] = {
    # A notification can only meet a "creating" row in a crash window; it counts as pending.
    S.CREATING: _FROM_PENDING | {S.PENDING},
    S.PENDING: _FROM_PENDING,
    # settlement → cancel is Midtrans's reversal of some VA / convenience-store payments.
    S.SETTLEMENT: frozenset({S.REFUND, S.PARTIAL_REFUND, S.CANCEL}),
    S.PARTIAL_REFUND: frozenset({S.PARTIAL_REFUND, S.REFUND}),
    # Money Midtrans confirms after our own expiry is still money received.
    S.EXPIRE: frozenset({S.SETTLEMENT}),
    S.CANCEL: frozenset(),
    S.REFUND: frozenset(),
}


def can_transition(current: S, target: S) -> bool:
    return target in ALLOWED_TRANSITIONS[current]
