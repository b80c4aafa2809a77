"""An item's checkout (SPEC §13): the price from the item (or the amount the rules allow),
a platform-made order id, the units held in the transaction that creates the payment."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.errors import ValidationError
from app.models import ApiClient, Item, PriceMode
from app.security import random_token
from app.services.checkout.create import (
    CheckoutRequest,
    CheckoutResult,
    ItemLine,
    create_checkout,
)
from app.services.checkout.stock import ItemInactiveError
from app.services.items.catalog import find_item

ORDER_ID_PREFIX, ORDER_ID_CHARACTERS = "ord_", 16
MAX_TOTAL = 999_999_999_999


@dataclass(frozen=True)
class ItemCheckout:
    buyer_email: str
    quantity: int = 1
    amount: int | None = None  # the unit price, where the item's rules allow one
    buyer_name: str | None = None
    buyer_phone: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    expires_in_minutes: int | None = None
    enabled_payments: list[str] | None = None
    return_url: str | None = None
    webhook_url: str | None = None


def checkout_item(client: ApiClient, item_id: str, asked: ItemCheckout) -> CheckoutResult:
    return sell(client, find_item(client, item_id), asked)


def sell(client: ApiClient, item: Item, asked: ItemCheckout) -> CheckoutResult:
    """A checkout of `item` for the credential of its own project environment."""
    if not item.on_sale:
        raise ItemInactiveError("this item is not on sale", "item_id")
    unit = unit_price(item.price_mode, item.price, item.min_amount, item.max_amount,
                      item.allow_price_override, asked.amount)  # fmt: skip
    total = unit * asked.quantity
    if total > MAX_TOTAL:
        raise ValidationError(
            "the total (amount × quantity) exceeds %(maximum)s", "quantity", maximum=MAX_TOTAL
        )
    return create_checkout(
        client,
        CheckoutRequest(
            amount=total,
            order_id=ORDER_ID_PREFIX + random_token(ORDER_ID_CHARACTERS),
            buyer_email=asked.buyer_email,
            buyer_name=asked.buyer_name,
            item_name=item.name,
            metadata=asked.metadata,
            buyer_phone=asked.buyer_phone,
            expires_in_minutes=asked.expires_in_minutes,
            enabled_payments=asked.enabled_payments,
            return_url=asked.return_url,
            webhook_url=asked.webhook_url,
            item=ItemLine(item.id, asked.quantity, unit),
        ),
    )


def unit_price(
    mode: PriceMode,
    price: int | None,
    low: int | None,
    high: int | None,
    override: bool,
    amount: int | None,
) -> int:
    """The unit price a checkout pays: the item's price, or `amount` where allowed."""
    if mode == PriceMode.FLEXIBLE:
        if amount is None:
            raise ValidationError("amount is required: the buyer chooses this price", "amount")
        if low is not None and amount < low:
            raise ValidationError("amount must be at least %(minimum)s", "amount", minimum=low)
        if high is not None and amount > high:
            raise ValidationError("amount must be at most %(maximum)s", "amount", maximum=high)
        return amount
    if amount is None:
        return price
    if not override:
        raise ValidationError("this item's price is fixed: send no amount", "amount")
    return amount
