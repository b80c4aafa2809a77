"""Create, read, change, archive and list a project environment's items (SPEC §13). Every
read is scoped: another project's or the other environment's item is simply not found."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.errors import NotFoundError, ServiceError, ValidationError
from app.extensions import db
from app.models import (
    PAID_STATUSES,
    DeliveryType,
    Item,
    MediaFile,
    MediaPurpose,
    Payment,
    PriceMode,
)
from app.models.base import iso_utc, utcnow
from app.models.item import ITEM_ID_PREFIX, SLUG_PATTERN
from app.security import encrypt, random_token
from app.services.items import media
from app.services.reporting.paging import ApiList, Keyset
from app.services.scope import Scope

SLUG_RE = re.compile(SLUG_PATTERN)
_items = Item.__table__.c
KEYSET = Keyset(_items.created_at, _items.id, lambda text: int(text) if text.isdigit() else None)
# Fields a merchant may set; what is left out of a PATCH keeps its value.
FIELDS = (
    "name",
    "description",
    "price",
    "price_mode",
    "min_amount",
    "max_amount",
    "allow_price_override",
    "slug",
    "active",
    "stock",
)

NULLABLE = frozenset({"price", "min_amount", "max_amount", "stock", "delivery"})


class SlugTakenError(ServiceError):
    code = "slug_taken"
    http_status = 409


@dataclass(frozen=True)
class Sales:
    """What an item has sold: paid checkouts, units, and the money kept (refunds taken off)."""

    payments: int = 0
    units: int = 0
    revenue: int = 0


PORTAL_LIST_LIMIT = 500


def link_url(item: Item) -> str:
    return f"{current_app.config['PUBLIC_BASE_URL']}/i/{item.slug}"


def item_object(item: Item) -> dict[str, Any]:
    return {
        "item_id": item.item_id,
        "name": item.name,
        "description": item.description,
        "price": item.price,
        "price_mode": str(item.price_mode),
        "min_amount": item.min_amount,
        "max_amount": item.max_amount,
        "allow_price_override": item.allow_price_override,
        "slug": item.slug,
        "active": item.active,
        "archived": item.archived,
        "stock": item.stock,
        "image_url": image_url(item),
        "delivery": delivery_object(item),
        "link_url": link_url(item),
        "created_at": iso_utc(item.created_at),
    }


def image_url(item: Item) -> str | None:
    if item.image is None:
        return None
    return f"{current_app.config['PUBLIC_BASE_URL']}/media/{item.image.key}"


def delivery_object(item: Item) -> dict[str, Any] | None:
    """The delivery as the API shows it: hidden text is never echoed back."""
    if item.delivery_type == DeliveryType.CONTENT:
        return {"type": "content"}
    if item.delivery_type == DeliveryType.FILE and item.delivery_file is not None:
        file = item.delivery_file
        return {"type": "file", "filename": file.filename, "size": file.size}
    return None


def find_item(scope: Scope, item_id: str) -> Item:
    item = db.session.scalar(
        select(Item).where(
            Item.item_id == item_id,
            Item.project_id == scope.project_id,
            Item.environment == scope.environment,
        )
    )
    if item is None:
        raise NotFoundError("no item with that item_id")
    return item


def create_item(scope: Scope, fields: dict[str, Any]) -> Item:
    """A new item from the (schema-checked) fields; the slug made from the name when none
    is given, with a short suffix when that one is taken. `delivery` is hidden text."""
    values = _given(fields)
    delivery = fields.get("delivery")
    if not values.get("name"):
        raise ValidationError("name is required", "name")
    values.setdefault("description", "")
    values.setdefault("price_mode", PriceMode.FIXED)
    values.setdefault("allow_price_override", False)
    values.setdefault("active", True)
    _check_prices(values)
    now = utcnow()
    item = Item(
        item_id=ITEM_ID_PREFIX + random_token(20),
        project_id=scope.project_id,
        environment=scope.environment,
        created_at=now,
        updated_at=now,
        **{**values, "slug": values.get("slug") or _free_slug(values["name"])},
    )
    db.session.add(item)
    if delivery is not None:
        _set_content(item, delivery)
    _commit_slug(values.get("slug") or item.slug)
    return item


def update_item(scope: Scope, item_id: str, changes: dict[str, Any]) -> Item:
    item = find_item(scope, item_id)
    values = {
        name: getattr(item, name) for name in FIELDS if name not in ("slug", "stock", "active")
    }
    values.update(_given(changes))
    if changes.get("price_mode") == PriceMode.FIXED and "min_amount" not in changes:
        values["min_amount"] = values["max_amount"] = None  # leaving flexible drops its bounds
    if changes.get("price_mode") == PriceMode.FLEXIBLE and "price" not in changes:
        values["price"] = None
    _check_prices(values)
    for name, value in values.items():
        setattr(item, name, value)
    if "slug" in changes and changes["slug"] != item.slug:
        item.slug = changes["slug"]
    gone: list[Path | None] = []
    if "delivery" in changes:
        gone.append(_clear_delivery(item))
        if changes["delivery"] is not None:
            _set_content(item, changes["delivery"])
    item.updated_at = utcnow()
    _commit_slug(item.slug)
    media.unlink_files(gone)
    return item


def put_image(scope: Scope, item_id: str, stream: BinaryIO, filename: str | None) -> Item:
    """The item's image (PNG, JPEG or WebP by content, at most 2 MB), replacing any."""
    item = find_item(scope, item_id)
    return _replace_image(
        item, media.store_upload(scope.project_id, MediaPurpose.IMAGE, stream, filename)
    )


def remove_image(scope: Scope, item_id: str) -> Item:
    return _replace_image(find_item(scope, item_id), None)


def _replace_image(item: Item, stored: MediaFile | None) -> Item:
    old = item.image
    item.image = stored
    item.updated_at = utcnow()
    gone = media.forget(old)
    db.session.commit()
    media.unlink_files([gone])
    return item


def put_delivery_file(scope: Scope, item_id: str, stream: BinaryIO, filename: str | None) -> Item:
    """The file a paid buyer downloads (any type, at most 25 MB), replacing any delivery:
    buyers already paid get the new file through the links they hold."""
    item = find_item(scope, item_id)
    stored = media.store_upload(scope.project_id, MediaPurpose.DELIVERY, stream, filename)
    gone = _clear_delivery(item)
    item.delivery_type = DeliveryType.FILE
    item.delivery_file = stored
    item.updated_at = utcnow()
    db.session.commit()
    media.unlink_files([gone])
    return item


def remove_delivery(scope: Scope, item_id: str) -> Item:
    """No delivery any more: links already given stop opening."""
    item = find_item(scope, item_id)
    gone = _clear_delivery(item)
    item.updated_at = utcnow()
    db.session.commit()
    media.unlink_files([gone])
    return item


def sales_of(scope: Scope) -> dict[int, Sales]:
    """Each item's sales in the scope, by the item's row id (items never sold are absent)."""
    rows = db.session.execute(
        select(
            Payment.item_ref,
            func.count(Payment.id),
            func.coalesce(func.sum(Payment.quantity), 0),
            func.coalesce(func.sum(Payment.amount - Payment.refunded), 0),
        )
        .where(
            Payment.project_id == scope.project_id,
            Payment.environment == scope.environment,
            Payment.item_ref.is_not(None),
            Payment.status.in_(PAID_STATUSES),
        )
        .group_by(Payment.item_ref)
    )
    return {ref: Sales(int(count), int(units), int(revenue)) for ref, count, units, revenue in rows}


def archive_item(scope: Scope, item_id: str) -> Item:
    """Archived: off sale for good (its link says "Tidak tersedia"), still listed and read.
    Archiving twice changes nothing."""
    item = find_item(scope, item_id)
    if item.archived_at is None:
        item.archived_at = utcnow()
        item.active = False
        db.session.commit()
    return item


def list_items(scope: Scope, limit: int, starting_after: str | None) -> ApiList:
    statement = select(Item).where(
        Item.project_id == scope.project_id, Item.environment == scope.environment
    )
    page = KEYSET.page(
        statement,
        limit,
        after=KEYSET.read(starting_after, "starting_after"),
        fetch=lambda built: list(db.session.scalars(built)),
    )
    return ApiList.of(page, [item_object(item) for item in page.rows])


def portal_items(scope: Scope) -> list[Item]:
    """The Items tab: on sale first, then inactive, archived last; newest first in each."""
    return list(
        db.session.scalars(
            select(Item)
            .where(Item.project_id == scope.project_id, Item.environment == scope.environment)
            .order_by(Item.archived_at.is_not(None), Item.active.is_(False), Item.created_at.desc())
            .limit(PORTAL_LIST_LIMIT)
        )
    )


def _set_content(item: Item, text: str) -> None:
    item.delivery_type = DeliveryType.CONTENT
    item.delivery_content = encrypt(text)


def _clear_delivery(item: Item) -> Path | None:
    """Take the delivery off the item; the path of a file to unlink once committed."""
    old = item.delivery_file
    item.delivery_type = None
    item.delivery_content = None
    item.delivery_file = None
    return media.forget(old)


def _given(fields: dict[str, Any]) -> dict[str, Any]:
    """The fields named, a null only where it means something (no price, no bound,
    unlimited stock)."""
    for name, value in fields.items():
        if value is None and name not in NULLABLE:
            raise ValidationError("%(name)s cannot be null", name, name=name)
    return {name: fields[name] for name in FIELDS if name in fields}


def _check_prices(values: dict[str, Any]) -> None:
    """The rules between the price fields (each field's own range is the schema's)."""
    mode = PriceMode(values["price_mode"])
    values["price_mode"] = mode
    if mode == PriceMode.FIXED:
        if values.get("price") is None:
            raise ValidationError("price is required for a fixed-price item", "price")
        if values.get("min_amount") is not None or values.get("max_amount") is not None:
            field = "min_amount" if values.get("min_amount") is not None else "max_amount"
            raise ValidationError("%(name)s is only for price_mode flexible", field, name=field)
        return
    if values.get("price") is not None:
        raise ValidationError("a flexible item has no price (the buyer chooses)", "price")
    if values.get("min_amount") is None:
        raise ValidationError("min_amount is required for price_mode flexible", "min_amount")
    if values.get("allow_price_override"):
        raise ValidationError(
            "allow_price_override is for fixed prices (a flexible item always takes amount)",
            "allow_price_override",
        )
    high = values.get("max_amount")
    if high is not None and high < values["min_amount"]:
        raise ValidationError("max_amount must be at least min_amount", "max_amount")


def slug_from(name: str) -> str:
    """The name in lower-case ASCII, other characters as single dashes, 3-64 characters."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:56].strip("-")
    return slug if len(slug) >= 3 else f"item-{slug}".strip("-")


def _free_slug(name: str) -> str:
    slug = slug_from(name)
    if db.session.scalar(select(Item.id).where(Item.slug == slug)) is None:
        return slug
    return f"{slug}-{random_token(6).lower()}"


def _commit_slug(slug: str) -> None:
    """Commit; a slug another item took first (unique across Lunas) is 409 slug_taken."""
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise SlugTakenError(
            "the slug %(slug)s is taken: choose another", "slug", slug=repr(slug)
        ) from None
