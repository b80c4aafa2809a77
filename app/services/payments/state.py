"""The one rule every action on a payment starts with: the state it must be in."""

from __future__ import annotations

from collections.abc import Iterable

from app.errors import InvalidStateError
from app.models import Payment, PaymentStatus


def require_status(payment: Payment, allowed: Iterable[PaymentStatus], action: str) -> None:
    """InvalidStateError naming the payment's status unless it is one of `allowed`."""
    allowed = tuple(allowed)
    if payment.status not in allowed:
        names = " or ".join(str(status) for status in allowed)
        raise InvalidStateError(
            f"payment {payment.purchase_id} is {payment.status}: only a payment in {names} "
            f"can be {action}"
        )
