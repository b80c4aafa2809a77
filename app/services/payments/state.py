"""The one rule every action on a payment starts with: the state it must be in."""

from __future__ import annotations

from collections.abc import Iterable

from app.errors import InvalidStateError
from app.models import Payment, PaymentStatus


def require_status(payment: Payment, allowed: Iterable[PaymentStatus], action: str) -> None:
    """InvalidStateError naming the payment's status unless it is one of `allowed`; `action` is
    what was asked ("refunded", "cancelled", "marked completed")."""
    allowed = tuple(allowed)
    if payment.status in allowed:
        return
    names = " or ".join(str(status) for status in allowed)
    state = {"purchase_id": payment.purchase_id, "status": str(payment.status)}
    # The refusals of the actions Lunas has, each one sentence naming the statuses it needs (API
    # values), so that each is translated whole; any other is composed, in English only.
    if (action, names) == ("refunded", "settlement or partial_refund"):
        raise InvalidStateError(
            "payment %(purchase_id)s is %(status)s: only a payment in settlement or "
            "partial_refund can be refunded",
            **state,
        )
    if (action, names) == ("marked completed", "settlement or partial_refund"):
        raise InvalidStateError(
            "payment %(purchase_id)s is %(status)s: only a payment in settlement or "
            "partial_refund can be marked completed",
            **state,
        )
    if (action, names) == ("cancelled", "pending"):
        raise InvalidStateError(
            "payment %(purchase_id)s is %(status)s: only a payment in pending can be cancelled",
            **state,
        )
    raise InvalidStateError(
        "payment %(purchase_id)s is %(status)s: only a payment in %(allowed)s can be %(action)s",
        allowed=names,
        action=action,
        **state,
    )
