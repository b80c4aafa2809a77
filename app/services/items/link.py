"""An item's hosted link, `/i/<slug>` (SPEC §13): what the public page may show of an item,
and the checkout its form starts.

The page is anonymous, so the checkout is made for the item's own project environment (its
API client), with the link's short expiry (ITEM_LINK_EXPIRY_MINUTES): nobody can hold stock
for a day without paying. Whether the project may take money at all (suspended, archived,
production not approved) is the same rule as the API's."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from flask import current_app
from sqlalchemy import select

from app.errors import NotFoundError, ServiceError
from app.extensions import db
from app.models import ApiClient, Environment, Item, PriceMode
from app.services.accounts.standing import check_may_start_checkout
from app.services.checkout.create import CheckoutResult
from app.services.items.catalog import image_url
from app.services.items.checkout import ItemCheckout, sell

MAX_QUANTITY = 100
# What a link's checkout says about where it came from, in the payment's metadata.
LINK_METADATA = {"source": "payment_link"}


class Availability(StrEnum):
    ON_SALE = "on_sale"
    SOLD_OUT = "sold_out"  # "Habis"
    UNAVAILABLE = "unavailable"  # "Tidak tersedia": inactive, archived, project not selling


@dataclass(frozen=True)
class LinkItem:
    """Only what a stranger may see of an item."""

    slug: str
    name: str
    description: str
    price: int | None
    flexible: bool
    min_amount: int | None
    max_amount: int | None
    image_url: str | None
    store_name: str
    test_mode: bool
    availability: Availability
    max_quantity: int  # 1 hides the quantity field

    @property
    def on_sale(self) -> bool:
        return self.availability == Availability.ON_SALE


def find_link_item(slug: str) -> LinkItem:
    """The item a link names, wherever it belongs; NotFoundError for no such slug."""
    item = _item_of(slug)
    availability = _availability(item)
    room = MAX_QUANTITY if item.stock is None else max(min(item.stock, MAX_QUANTITY), 1)
    return LinkItem(
        slug=item.slug,
        name=item.name,
        description=item.description,
        price=item.price,
        flexible=item.price_mode == PriceMode.FLEXIBLE,
        min_amount=item.min_amount,
        max_amount=item.max_amount,
        image_url=image_url(item),
        store_name=item.project.name,
        test_mode=item.environment == Environment.SANDBOX,
        availability=availability,
        max_quantity=room,
    )


def buy_through_link(
    slug: str,
    buyer_email: str,
    quantity: int,
    amount: int | None,
    buyer_name: str | None,
    buyer_phone: str | None,
) -> CheckoutResult:
    """A checkout from the link's form; the errors of the API's item checkout
    (ValidationError naming the field, sold_out, item_inactive, unavailable)."""
    item = _item_of(slug)
    client = db.session.scalar(
        select(ApiClient).where(
            ApiClient.project_id == item.project_id, ApiClient.environment == item.environment
        )
    )
    return sell(
        client,
        item,
        ItemCheckout(
            buyer_email=buyer_email,
            quantity=quantity,
            # A fixed price is never the buyer's to change (the override is the merchant's).
            amount=amount if item.price_mode == PriceMode.FLEXIBLE else None,
            buyer_name=buyer_name,
            buyer_phone=buyer_phone,
            metadata=dict(LINK_METADATA),
            expires_in_minutes=current_app.config["ITEM_LINK_EXPIRY_MINUTES"],
        ),
    )


def _item_of(slug: str) -> Item:
    item = db.session.scalar(select(Item).where(Item.slug == slug)) if len(slug) <= 64 else None
    if item is None:
        raise NotFoundError("no item with that link")
    return item


def _availability(item: Item) -> Availability:
    if not item.on_sale:
        return Availability.UNAVAILABLE
    try:
        check_may_start_checkout(item.project, item.environment)
    except ServiceError:
        return Availability.UNAVAILABLE
    if item.stock is not None and item.stock <= 0:
        return Availability.SOLD_OUT
    return Availability.ON_SALE
