"""Midtrans transaction_status (+ fraud_status) → Lunas status, and the
forward-only transitions between Lunas statuses."""

from __future__ import annotations

import itertools

import pytest

from app.midtrans.status import map_midtrans_status
from app.models import PaymentStatus, can_transition

PENDING = PaymentStatus.PENDING
SETTLEMENT = PaymentStatus.SETTLEMENT
CANCEL = PaymentStatus.CANCEL
EXPIRE = PaymentStatus.EXPIRE
REFUND = PaymentStatus.REFUND
PARTIAL_REFUND = PaymentStatus.PARTIAL_REFUND

# The statuses merchants see; "creating" is internal to checkout creation.
PUBLIC_STATUSES = [PENDING, SETTLEMENT, CANCEL, EXPIRE, REFUND, PARTIAL_REFUND]


@pytest.mark.parametrize(
    ("transaction_status", "fraud_status", "expected"),
    [
        ("settlement", "accept", SETTLEMENT),
        ("settlement", None, SETTLEMENT),
        ("capture", "accept", SETTLEMENT),
        ("capture", None, SETTLEMENT),
        ("pending", "accept", PENDING),
        ("pending", None, PENDING),
        ("authorize", "accept", PENDING),
        ("capture", "challenge", PENDING),
        ("deny", "accept", CANCEL),
        ("deny", "deny", CANCEL),
        ("cancel", "accept", CANCEL),
        ("failure", None, CANCEL),
        ("capture", "deny", CANCEL),
        ("expire", "accept", EXPIRE),
        ("expire", None, EXPIRE),
        ("refund", "accept", REFUND),
        ("chargeback", None, REFUND),
        ("partial_refund", "accept", PARTIAL_REFUND),
        ("partial_chargeback", None, PARTIAL_REFUND),
    ],
)
def test_maps_every_row_of_the_status_table(transaction_status, fraud_status, expected):
    assert map_midtrans_status(transaction_status, fraud_status) == expected


@pytest.mark.parametrize(
    "transaction_status",
    ["", "expired", "paid", "success", "settled", "refunded", "void", "pending_capture"],
)
def test_an_unknown_midtrans_status_maps_to_nothing(transaction_status):
    assert map_midtrans_status(transaction_status, "accept") is None


# pending → anything; settlement → refund, partial_refund, cancel (reversal);
# partial_refund → partial_refund, refund; expire → settlement only; cancel and refund final.
ALLOWED = {
    (PENDING, SETTLEMENT),
    (PENDING, CANCEL),
    (PENDING, EXPIRE),
    (PENDING, REFUND),
    (PENDING, PARTIAL_REFUND),
    (SETTLEMENT, REFUND),
    (SETTLEMENT, PARTIAL_REFUND),
    (SETTLEMENT, CANCEL),
    (PARTIAL_REFUND, PARTIAL_REFUND),
    (PARTIAL_REFUND, REFUND),
    (EXPIRE, SETTLEMENT),
}
# A repeat of the current status is a duplicate, not a transition; only another partial
# refund (a new refunded total) moves partial_refund again.
FORBIDDEN = set(itertools.product(PUBLIC_STATUSES, repeat=2)) - ALLOWED


def _pair_id(pair: tuple[PaymentStatus, PaymentStatus]) -> str:
    return f"{pair[0]}->{pair[1]}"


@pytest.mark.parametrize("pair", sorted(ALLOWED), ids=_pair_id)
def test_allows_a_forward_transition(pair):
    current, target = pair
    assert can_transition(current, target)


@pytest.mark.parametrize("pair", sorted(FORBIDDEN), ids=_pair_id)
def test_forbids_a_backward_or_repeated_transition(pair):
    current, target = pair
    assert not can_transition(current, target)


@pytest.mark.parametrize("target", PUBLIC_STATUSES)
@pytest.mark.parametrize("final", [CANCEL, REFUND])
def test_cancel_and_refund_are_final(final, target):
    assert not can_transition(final, target)
