"""Request models for the platform API: pydantic v2, strict (a JSON integer stays an integer)."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Literal

from email_validator import EmailNotValidError, validate_email
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    field_validator,
    model_validator,
)
from pydantic import ValidationError as PydanticValidationError
from pydantic_core import PydanticCustomError

from app.midtrans.payment_types import SNAP_PAYMENT_ALIASES, SNAP_PAYMENTS
from app.models import MAX_AMOUNT, ORDER_ID_PATTERN, PHONE_PATTERN
from app.models.item import SLUG_PATTERN as ITEM_SLUG_PATTERN
from app.text import NUL_MESSAGE, has_nul

SLUG_RE = re.compile(r"^[a-z0-9-]{1,64}$")
PHONE_RE = re.compile(PHONE_PATTERN)

MetadataValue = StrictStr | StrictInt | StrictFloat | StrictBool | None


class _BuyerChecks(BaseModel):
    """The checks shared by both checkouts' bodies, on whichever of these fields a body has."""

    model_config = ConfigDict(strict=True, extra="forbid")

    @field_validator("buyer_phone", check_fields=False)
    @classmethod
    def _check_phone(cls, value: str | None) -> str | None:
        if value is not None and not PHONE_RE.fullmatch(value):
            raise PydanticCustomError("phone", FIELD_MESSAGES["buyer_phone"])
        return value

    @field_validator("enabled_payments", check_fields=False)
    @classmethod
    def _check_payments(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        if not value:
            raise PydanticCustomError("payments", "enabled_payments must name at least one")
        names: list[str] = []
        for name in value:
            snap_name = SNAP_PAYMENT_ALIASES.get(name, name)
            if snap_name not in SNAP_PAYMENTS:
                raise PydanticCustomError(
                    "payments",
                    "enabled_payments: unknown payment '{name}' (one of {known})",
                    {"name": name[:40], "known": ", ".join(SNAP_PAYMENTS)},
                )
            if snap_name not in names:
                names.append(snap_name)
        return names

    @field_validator("buyer_name", "item_name", check_fields=False)
    @classmethod
    def _check_text(cls, value: str | None) -> str | None:
        if has_nul(value):
            raise PydanticCustomError("nul_character", NUL_MESSAGE)
        return value

    @field_validator("buyer_email", check_fields=False)
    @classmethod
    def _check_email(cls, value: str) -> str:
        # A bare address only: "John <john@example.com>" is refused, not silently rewritten.
        try:
            return validate_email(value, check_deliverability=False).normalized
        except EmailNotValidError:
            raise ValueError("not a valid email address") from None

    @field_validator("metadata", check_fields=False)
    @classmethod
    def _check_metadata(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is None:
            return None
        if len(value) > 50:
            raise ValueError("metadata may have at most 50 keys")
        for key, item in value.items():
            if has_nul(key, item):
                raise PydanticCustomError("nul_character", NUL_MESSAGE)
            if not 1 <= len(key) <= 40:
                raise ValueError("metadata keys must be 1-40 characters")
            if isinstance(item, str) and len(item) > 500:
                raise ValueError(f"metadata.{key} must be at most 500 characters")
        slug = value.get("store_slug")
        if slug is not None and (not isinstance(slug, str) or not SLUG_RE.match(slug)):
            raise ValueError("metadata.store_slug must match [a-z0-9-]{1,64}")
        return value


class ShopPaymentRequest(_BuyerChecks):
    client_id: StrictStr | None = Field(default=None, max_length=100)
    client_secret: StrictStr | None = Field(default=None, max_length=200)
    amount: Annotated[StrictInt, Field(ge=1, le=MAX_AMOUNT)]
    order_id: Annotated[StrictStr, Field(pattern=ORDER_ID_PATTERN)]
    buyer_email: Annotated[StrictStr, Field(max_length=254, json_schema_extra={"format": "email"})]
    buyer_name: Annotated[StrictStr, Field(max_length=100)] | None = None
    item_name: Annotated[StrictStr, Field(max_length=200)] | None = None
    metadata: dict[str, MetadataValue] | None = None
    # SPEC §11.1: all optional.
    buyer_phone: StrictStr | None = None
    expires_in_minutes: Annotated[StrictInt, Field(ge=5, le=10080)] | None = None
    enabled_payments: list[StrictStr] | None = None
    return_url: StrictStr | None = None
    webhook_url: StrictStr | None = None


class ItemCheckoutRequest(_BuyerChecks):
    """SPEC §13's item checkout: no order_id (Lunas makes it) and no item_name (the item's);
    `amount` is the unit price, where the item allows one."""

    client_id: StrictStr | None = Field(default=None, max_length=100)
    client_secret: StrictStr | None = Field(default=None, max_length=200)
    buyer_email: Annotated[StrictStr, Field(max_length=254, json_schema_extra={"format": "email"})]
    buyer_name: Annotated[StrictStr, Field(max_length=100)] | None = None
    quantity: Annotated[StrictInt, Field(ge=1, le=100)] = 1
    amount: Annotated[StrictInt, Field(ge=1, le=MAX_AMOUNT)] | None = None
    metadata: dict[str, MetadataValue] | None = None
    buyer_phone: StrictStr | None = None
    expires_in_minutes: Annotated[StrictInt, Field(ge=5, le=10080)] | None = None
    enabled_payments: list[StrictStr] | None = None
    return_url: StrictStr | None = None
    webhook_url: StrictStr | None = None


class Credentials(BaseModel):
    """The body fields of SPEC §3.1 that every POST may carry instead of HTTP Basic."""

    model_config = ConfigDict(strict=True, extra="forbid")

    client_id: StrictStr | None = Field(default=None, max_length=100)
    client_secret: StrictStr | None = Field(default=None, max_length=200)


class CancelRequest(Credentials):
    pass


class RefundRequest(Credentials):
    amount: Annotated[StrictInt, Field(ge=1, le=MAX_AMOUNT)] | None = None
    reason: Annotated[StrictStr, Field(max_length=255)] | None = None

    @field_validator("reason")
    @classmethod
    def _check_reason(cls, value: str | None) -> str | None:
        if has_nul(value):
            raise PydanticCustomError("nul_character", NUL_MESSAGE)
        return value


class FulfilmentRequest(Credentials):
    status: StrictStr


class WebhookSettingsRequest(Credentials):
    url: StrictStr | None = None
    events: list[StrictStr] | None = None


class ContentDelivery(BaseModel):
    """Hidden text the buyer gets once paid; a file is uploaded, never sent in JSON."""

    model_config = ConfigDict(strict=True, extra="forbid")

    type: Literal["content"]
    content: Annotated[StrictStr, Field(min_length=1, max_length=10_000)]

    @field_validator("content")
    @classmethod
    def _check_text(cls, value: str) -> str:
        if has_nul(value):
            raise PydanticCustomError("nul_character", NUL_MESSAGE)
        return value


class ItemFields(Credentials):
    """An item's fields (SPEC §13): all optional here; create requires `name` and the price
    rules (app/services/items/catalog.py). `delivery: null` removes a delivery."""

    name: Annotated[StrictStr, Field(min_length=1, max_length=200)] | None = None
    description: Annotated[StrictStr, Field(max_length=2000)] | None = None
    price: Annotated[StrictInt, Field(ge=1, le=MAX_AMOUNT)] | None = None
    price_mode: Literal["fixed", "flexible"] | None = None
    min_amount: Annotated[StrictInt, Field(ge=1, le=MAX_AMOUNT)] | None = None
    max_amount: Annotated[StrictInt, Field(ge=1, le=MAX_AMOUNT)] | None = None
    allow_price_override: StrictBool | None = None
    slug: Annotated[StrictStr, Field(pattern=ITEM_SLUG_PATTERN)] | None = None
    active: StrictBool | None = None
    stock: Annotated[StrictInt, Field(ge=0, le=1_000_000_000)] | None = None
    delivery: ContentDelivery | None = None

    @field_validator("name", "description")
    @classmethod
    def _check_text(cls, value: str | None) -> str | None:
        if has_nul(value):
            raise PydanticCustomError("nul_character", NUL_MESSAGE)
        return value


class QrisInfoRequest(Credentials):
    qris: StrictStr  # judged by app/qris, which names what is wrong with it


class QrisConvertRequest(Credentials):
    """SPEC §14: the code as text (`qris`) or as a picture of it (`image`, base64 PNG, JPEG or
    WebP, a data: URL's prefix allowed), the amount, and at most one kind of fee."""

    qris: StrictStr | None = None
    image: StrictStr | None = None
    amount: Annotated[StrictInt, Field(ge=1, le=MAX_AMOUNT)]
    fee_fixed: Annotated[StrictInt, Field(ge=1, le=MAX_AMOUNT)] | None = None
    fee_percent: Annotated[StrictFloat, Field(gt=0, le=100)] | None = None  # an integer too

    @field_validator("fee_percent")
    @classmethod
    def _check_percent(cls, value: float | None) -> float | None:
        if value is not None and (Decimal(str(value)) * 100) % 1:
            raise PydanticCustomError("fee", "fee_percent has at most two decimals, e.g. 1.5")
        return value

    @model_validator(mode="after")
    def _one_of_each(self) -> QrisConvertRequest:
        if self.qris is None and self.image is None:
            raise PydanticCustomError("source", "qris or image is required")
        if self.qris is not None and self.image is not None:
            raise PydanticCustomError("source", "send the code as qris (text) or image, not both")
        if self.fee_fixed is not None and self.fee_percent is not None:
            raise PydanticCustomError("fee", "send fee_fixed or fee_percent, not both")
        return self


# -- query strings ------------------------------------------------------------------------------
# What a GET may carry: the route checks its query string with its model first (an unknown
# name, a value of the wrong form), then the service reads the values (dates, cursors).


class Query(BaseModel):
    """A query string's model: lax (every value arrives as text), no unknown name."""

    model_config = ConfigDict(extra="forbid")
    messages: ClassVar[dict[str, str]] = {}


def _plain_digits(value: Any) -> Any:
    """A query's number as plain ASCII digits: "+5", " 5", "5.0" or "1_0" is refused, not
    read as the number it might mean."""
    if isinstance(value, str) and not (value.isascii() and value.isdigit()):
        raise ValueError("not plain digits")
    return value


Limit = Annotated[int, Field(ge=1, le=100), BeforeValidator(_plain_digits)]
Cursor = Annotated[str, Field(min_length=1, max_length=254)]
_LIMIT = Field(default=20, description="Page size, 1-100")
_CURSOR = Field(default=None, description="The next_cursor of the page before")


class VerifyQuery(Query):
    messages = {
        "order_id": "order_id is required (at most 64 characters)",
        "client_id": "client_id must be at most 100 characters",
    }

    order_id: Annotated[str, Field(min_length=1, max_length=64)] = Field(
        description="The purchase_id, or your order_id together with client_id"
    )
    client_id: str | None = Field(
        default=None, max_length=100, description="Needed when order_id is your own order id"
    )


_LIMIT_MESSAGE = {"limit": "limit must be an integer from 1 to 100"}


class PaymentListQuery(Query):
    messages = {
        **_LIMIT_MESSAGE,
        **{
            name: f"{name} must be 1-254 characters"
            for name in ("order_id", "buyer_email", "item_id", "starting_after")
        },
    }

    status: str | None = Field(
        default=None,
        description="Comma-separated: pending, settlement, cancel, expire, refund, partial_refund",
        examples=["settlement,partial_refund"],
    )
    created_from: str | None = Field(
        default=None,
        description="A WIB day (YYYY-MM-DD, from its start) or an ISO 8601 datetime with zone",
    )
    created_to: str | None = Field(
        default=None,
        description="A WIB day (YYYY-MM-DD, through its end) or an ISO 8601 datetime with zone",
    )
    order_id: Annotated[str, Field(min_length=1, max_length=254)] | None = None
    buyer_email: Annotated[str, Field(min_length=1, max_length=254)] | None = None
    item_id: Annotated[str, Field(min_length=1, max_length=254)] | None = Field(
        default=None, description='An item\'s id, or "__direct__" for shop payments'
    )
    limit: Limit = _LIMIT
    starting_after: Cursor | None = _CURSOR


class ItemListQuery(Query):
    messages = {**_LIMIT_MESSAGE, "starting_after": "starting_after must be 1-254 characters"}

    limit: Limit = _LIMIT
    starting_after: Cursor | None = _CURSOR


class StatisticsQuery(Query):
    messages = {"period": "period must be one of today, week, month, year, all"}

    period: Literal["today", "week", "month", "year", "all"] = Field(
        default="today", description="WIB days ending today"
    )


class QrisInfoQuery(Query):
    messages = {"qris": "qris is required"}

    qris: str = Field(description="The text a QRIS code holds")


def first_query_error(exc: PydanticValidationError, model: type[Query]) -> tuple[str, str | None]:
    """(message, parameter) for the first problem of a query string."""
    error = exc.errors()[0]
    location = error.get("loc") or ()
    name = str(location[0])[:40] if location else None
    if error["type"] == "extra_forbidden":
        return f"unknown parameter {name!r}", name
    if name in model.messages:
        return model.messages[name], name
    if error["type"] == "missing":
        return f"{name} is required", name
    return f"{name}: {error.get('msg', 'invalid value')}", name


FIELD_MESSAGES = {
    "amount": f"amount must be a positive integer no larger than {MAX_AMOUNT}",
    "order_id": "order_id must be 1-50 characters of A-Z a-z 0-9 - _ . ~",
    "buyer_email": "buyer_email must be a valid email address of at most 254 characters",
    "buyer_name": "buyer_name must be a string of at most 100 characters",
    "item_name": "item_name must be a string of at most 200 characters",
    "client_id": "client_id must be a string",
    "client_secret": "client_secret must be a string",
    "buyer_phone": "buyer_phone must be 8-20 characters of digits, spaces, + and -",
    "expires_in_minutes": "expires_in_minutes must be an integer from 5 to 10080",
    "enabled_payments": "enabled_payments must be a list of Snap payment names",
    "return_url": "return_url must be a string",
    "webhook_url": "webhook_url must be a string",
    "reason": "reason must be a string of at most 255 characters",
    "status": "status must be one of completed, cancelled",
    "url": "url must be a string (an https URL) or null",
    "events": "events must be a list of event names",
    "name": "name must be a string of 1-200 characters",
    "delivery": 'delivery must be null or {"type": "content", "content": "<1-10000 characters>"}'
    " (a file is uploaded with PUT /api/platform/items/{item_id}/delivery)",
    "description": "description must be a string of at most 2000 characters",
    "price": f"price must be a positive integer no larger than {MAX_AMOUNT}",
    "price_mode": "price_mode must be fixed or flexible",
    "min_amount": f"min_amount must be a positive integer no larger than {MAX_AMOUNT}",
    "max_amount": f"max_amount must be a positive integer no larger than {MAX_AMOUNT}",
    "allow_price_override": "allow_price_override must be true or false",
    "slug": "slug must be 3-64 characters of a-z 0-9 and -",
    "active": "active must be true or false",
    "stock": "stock must be a whole number from 0 (or null: unlimited)",
    "quantity": "quantity must be an integer from 1 to 100",
    "qris": "qris must be a string: the text a QRIS code holds",
    "image": "image must be a string: the picture, base64-encoded",
    "fee_fixed": f"fee_fixed must be a positive integer (rupiah) no larger than {MAX_AMOUNT}",
    "fee_percent": "fee_percent must be a number more than 0 and at most 100",
}


def first_error(exc: PydanticValidationError) -> tuple[str, str | None]:
    """(message, field) for the first problem, worded for a merchant's developer."""
    error = exc.errors()[0]
    location = error.get("loc") or ()
    field = str(location[0]) if location else None
    if error["type"] == "extra_forbidden":
        return f"unknown field {field!r}", field
    if error["type"] == "missing":
        return f"{field} is required", field
    if error["type"] == "nul_character":
        return f"{field} {NUL_MESSAGE}", field
    if error["type"] in ("phone", "payments"):
        return error["msg"], field
    if error["type"] == "source":
        return error["msg"], "qris"
    if error["type"] == "fee":
        return error["msg"], "fee_percent"
    if field == "metadata":
        context = error.get("ctx", {}).get("error")
        if context is not None:
            return str(context), field
        if len(location) > 1:
            return (
                f"metadata.{location[1]} must be a string, number, boolean or null",
                field,
            )
        return "metadata must be an object", field
    if field in FIELD_MESSAGES:
        return FIELD_MESSAGES[field], field
    return error.get("msg", "invalid request"), field
