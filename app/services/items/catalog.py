"""Create, read, change, archive and list a project environment's items (SPEC §13). Every
read is scoped: another project's or the other environment's item is simply not found."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.errors import NotFoundError, ServiceError, ValidationError
from app.extensions import db
from app.models import Item, PriceMode
from app.models.base import iso_utc, utcnow
from app.models.item import ITEM_ID_PREFIX, SLUG_PATTERN
from app.security import random_token
from app.services.reporting.paging import ApiList, Keyset
from app.services.scope import Scope

SLUG_RE = re.compile(SLUG_PATTERN)
DEFAULT_LIMIT, MAX_LIMIT = 20, 100
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

NULLABLE = frozenset({"price", "min_amount", "max_amount", "stock"})


class SlugTakenError(ServiceError):
    code = "slug_taken"
    http_status = 409


def item_object(item: Item) -> dict[str, Any]:
    base = current_app.config["PUBLIC_BASE_URL"]
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
        "image_url": None,
        "delivery": None,
        "link_url": f"{base}/i/{item.slug}",
        "created_at": iso_utc(item.created_at),
    }


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
    is given, with a short suffix when that one is taken."""
    values = _given(fields)
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
    item.updated_at = utcnow()
    _commit_slug(item.slug)
    return item


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


def read_list_query(args) -> tuple[int, str | None]:
    for name in args:
        if name not in ("limit", "starting_after"):
            raise ValidationError(f"unknown parameter {name[:40]!r}", name[:40])
    limit = DEFAULT_LIMIT
    if "limit" in args:
        text = args["limit"]
        if not text.isdigit() or not 1 <= int(text) <= MAX_LIMIT:
            raise ValidationError(f"limit must be an integer from 1 to {MAX_LIMIT}", "limit")
        limit = int(text)
    return limit, args.get("starting_after") or None


def _given(fields: dict[str, Any]) -> dict[str, Any]:
    """The fields named, a null only where it means something (no price, no bound,
    unlimited stock)."""
    for name, value in fields.items():
        if value is None and name not in NULLABLE:
            raise ValidationError(f"{name} cannot be null", name)
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
            raise ValidationError(f"{field} is only for price_mode flexible", field)
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
        raise SlugTakenError(f"the slug {slug!r} is taken: choose another", "slug") from None
