"""Response models of the platform API and the bodies of the webhooks Lunas sends: pydantic v2,
the one description of every answer. Each route passes its service's answer through its model
(`shaped`), so an answer that drifts from its model fails there, in the tests, before a merchant
sees it; app/api/openapi.py publishes the same models as the contract. Each model's example
is checked against the model itself by the tests."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.api.schemas import MetadataValue

Status = Literal["pending", "settlement", "cancel", "expire", "refund", "partial_refund"]
EnvironmentName = Literal["sandbox", "production"]
FulfilmentName = Literal["unfulfilled", "completed", "cancelled"]


def moment() -> Any:
    return Field(description="ISO 8601, UTC, with Z", examples=["2026-05-06T10:00:00Z"])


PURCHASE_ID = "pur_9bX2kq0LmR4tVw7yZa1c"
INVOICE_URL = f"https://lunas.example/pay/{PURCHASE_ID}"


class Answer(BaseModel):
    """An answer's model: strict about its own fields (a field the service adds and the model
    does not know is an error), free about nothing."""

    model_config = ConfigDict(extra="forbid")


def shaped(model: type[Answer], data: dict[str, Any]) -> dict[str, Any]:
    """`data` checked by `model` and written as JSON would carry it. Fields the service left
    out stay out (a refund's failure_message exists only for a failed refund)."""
    return model.model_validate(data).model_dump(mode="json", by_alias=True, exclude_unset=True)


# -- checkout ----------------------------------------------------------------------------------


class CheckoutCreated(Answer):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "invoice_url": INVOICE_URL,
                    "order_id": "INV-0001",
                    "purchase_id": PURCHASE_ID,
                    "status": "pending",
                    "environment": "sandbox",
                    "amount": 75000,
                    "currency": "IDR",
                    "expires_at": "2026-05-07T10:00:00Z",
                }
            ]
        },
    )

    invoice_url: str = Field(description="Send the buyer here: Lunas takes them to Midtrans")
    order_id: str
    purchase_id: str
    status: Literal["pending"]
    environment: EnvironmentName
    amount: int
    currency: Literal["IDR"]
    expires_at: str | None = moment()


class ItemCheckoutCreated(CheckoutCreated):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "invoice_url": INVOICE_URL,
                    "order_id": "ord_5Jk2mQ8rT1vX",
                    "purchase_id": PURCHASE_ID,
                    "status": "pending",
                    "environment": "sandbox",
                    "amount": 90000,
                    "currency": "IDR",
                    "expires_at": "2026-05-06T11:00:00Z",
                    "item_id": "itm_Q2w3E4r5T6y7U8i9",
                }
            ]
        },
    )

    item_id: str


class VerifyAnswer(Answer):
    """What a buyer's page may know of a payment: never the buyer's email or name."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "order_id": "INV-0001",
                    "purchase_id": PURCHASE_ID,
                    "status": "settlement",
                    "amount": 75000,
                    "currency": "IDR",
                    "store_name": "Warung Bu Sari",
                    "redirect_url": "https://warung.example/pesanan/INV-0001",
                    "paid_at": "2026-05-06T10:00:00Z",
                    "environment": "production",
                    "client_id": "lk_live_4awfWpghg88c1mdDgX38FT3G",
                }
            ]
        },
    )

    order_id: str
    purchase_id: str
    status: Status
    amount: int
    currency: str
    store_name: str
    redirect_url: str | None
    paid_at: str | None = moment()
    environment: EnvironmentName
    client_id: str


# -- payments ----------------------------------------------------------------------------------


REFUND_EXAMPLE = {
    "refund_id": "rfd_7Hn3Kp9Qs2Wx",
    "purchase_id": PURCHASE_ID,
    "amount": 25000,
    "reason": "stok habis",
    "status": "succeeded",
    "created_at": "2026-05-06T12:00:00Z",
}


class RefundObject(Answer):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [REFUND_EXAMPLE]})

    refund_id: str = Field(description="Also Midtrans's refund_key: a retry never refunds twice")
    purchase_id: str
    amount: int
    reason: str | None
    status: Literal["pending", "succeeded", "failed"]
    created_at: str = moment()
    failure_message: str | None = Field(
        default=None, description="Only on a failed refund: Midtrans's reason"
    )


PAYMENT_EXAMPLE = {
    "purchase_id": PURCHASE_ID,
    "order_id": "INV-0001",
    "environment": "sandbox",
    "status": "partial_refund",
    "amount": 75000,
    "refunded_amount": 25000,
    "currency": "IDR",
    "item_id": "__direct__",
    "item_name": "Nasi Goreng Spesial",
    "quantity": 1,
    "buyer_email": "buyer@example.com",
    "buyer_name": "Sari",
    "buyer_phone": None,
    "metadata": {"store_slug": "warung-bu-sari"},
    "payment_type": "qris",
    "payment_channel": "gopay",
    "invoice_url": INVOICE_URL,
    "return_url": None,
    "fulfilment_status": "unfulfilled",
    "created_at": "2026-05-06T09:58:00Z",
    "expires_at": "2026-05-07T09:58:00Z",
    "paid_at": "2026-05-06T10:00:00Z",
    "cancelled_at": None,
    "refunds": [REFUND_EXAMPLE],
}


class PaymentObject(Answer):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [PAYMENT_EXAMPLE]})

    purchase_id: str
    order_id: str
    environment: EnvironmentName
    status: Status
    amount: int
    refunded_amount: int
    currency: str
    item_id: str = Field(description='"__direct__" for a shop payment, else the item\'s id')
    item_name: str | None
    quantity: int
    buyer_email: str
    buyer_name: str | None
    buyer_phone: str | None
    metadata: dict[str, MetadataValue]
    payment_type: str | None = Field(description="Midtrans's payment_type, once known")
    payment_channel: str | None = Field(description="The bank, wallet or store, once known")
    invoice_url: str
    return_url: str | None
    fulfilment_status: FulfilmentName
    created_at: str = moment()
    expires_at: str | None = moment()
    paid_at: str | None = moment()
    cancelled_at: str | None = moment()
    refunds: list[RefundObject]


class PaymentList(Answer):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"data": [PAYMENT_EXAMPLE], "has_more": True, "next_cursor": "c2ZkZg"}]
        },
    )

    data: list[PaymentObject]
    has_more: bool
    next_cursor: str | None = Field(description="Pass as starting_after for the next page")


class RefundList(Answer):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"data": []}]})

    data: list[RefundObject]


class Tally(Answer):
    count: int
    amount: int


class Statistics(Answer):
    model_config = ConfigDict(
        extra="forbid",
        populate_by_name=True,
        json_schema_extra={
            "examples": [
                {
                    "period": "week",
                    "from": "2026-04-30",
                    "to": "2026-05-06",
                    "total_transactions": 42,
                    "total_paid": 37,
                    "total_amount": 2775000,
                    "total_refunded": 25000,
                    "breakdown": {"qris": {"count": 30, "amount": 2250000}},
                }
            ]
        },
    )

    period: Literal["today", "week", "month", "year", "all"]
    from_: str | None = Field(alias="from", description="First WIB day; null for all")
    to: str | None = Field(description="Last WIB day (today); null for all")
    total_transactions: int
    total_paid: int
    total_amount: int = Field(description="Paid, in rupiah, before refunds")
    total_refunded: int
    breakdown: dict[str, Tally] = Field(description="Paid payments by payment_type")


class WebhookSettings(Answer):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "url": "https://warung.example/hooks/lunas",
                    "events": ["item.purchased", "payment.refunded", "payment.reversed"],
                }
            ]
        },
    )

    url: str | None
    events: list[str]


class ProjectRef(Answer):
    id: str
    name: str


class MidtransState(Answer):
    configured: bool = Field(description="Whether this server has this environment's key")


class Account(Answer):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "project": {"id": "prj_nrQznVN1GtYjpj3dDf8O", "name": "Warung Bu Sari"},
                    "environment": "sandbox",
                    "webhook": {"url": None, "events": ["item.purchased"]},
                    "midtrans": {"configured": True},
                    "payment_methods": ["qris", "gopay", "bca_va"],
                }
            ]
        },
    )

    project: ProjectRef
    environment: EnvironmentName
    webhook: WebhookSettings
    midtrans: MidtransState
    payment_methods: list[str]


# -- items -------------------------------------------------------------------------------------


class ContentDeliveryOut(Answer):
    type: Literal["content"] = Field(description="Hidden text: never sent back")


class FileDeliveryOut(Answer):
    type: Literal["file"]
    filename: str
    size: int


ITEM_EXAMPLE = {
    "item_id": "itm_Q2w3E4r5T6y7U8i9",
    "name": "E-book Resep Nusantara",
    "description": "60 resep",
    "price": 45000,
    "price_mode": "fixed",
    "min_amount": None,
    "max_amount": None,
    "allow_price_override": False,
    "slug": "e-book-resep-nusantara",
    "active": True,
    "archived": False,
    "stock": 100,
    "image_url": None,
    "delivery": {"type": "file", "filename": "resep.pdf", "size": 1832011},
    "link_url": "https://lunas.example/i/e-book-resep-nusantara",
    "created_at": "2026-05-01T08:00:00Z",
}


class ItemObject(Answer):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [ITEM_EXAMPLE]})

    item_id: str
    name: str
    description: str | None
    price: int | None
    price_mode: Literal["fixed", "flexible"]
    min_amount: int | None
    max_amount: int | None
    allow_price_override: bool
    slug: str
    active: bool
    archived: bool
    stock: int | None = Field(description="Units left; null: unlimited; below 0: oversold")
    image_url: str | None
    delivery: Annotated[ContentDeliveryOut | FileDeliveryOut, Field(discriminator="type")] | None
    link_url: str
    created_at: str = moment()


class ItemList(Answer):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"data": [ITEM_EXAMPLE], "has_more": False, "next_cursor": None}]
        },
    )

    data: list[ItemObject]
    has_more: bool
    next_cursor: str | None


# -- QRIS ----------------------------------------------------------------------------------------


class MerchantAccountOut(Answer):
    tag: str = Field(description="26–51")
    gui: str | None = Field(description="Globally unique identifier (sub-tag 00)")
    pan: str | None = Field(description="Merchant PAN (sub-tag 01)")
    id: str | None = Field(description="Merchant ID (sub-tag 02)")
    criteria: str | None = Field(description="Merchant criteria (sub-tag 03)")


class QrisFeeOut(Answer):
    type: Literal["fixed", "percent", "prompt"]
    amount: int | None = None
    percent: str | None = None


class QrisInfo(Answer):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "valid": True,
                    "is_dynamic": True,
                    "merchant_name": "XENDIT",
                    "merchant_city": "Kota Jakarta Se",
                    "postal_code": "12190",
                    "country": "ID",
                    "currency": "360",
                    "amount": 10000,
                    "merchant_category_code": "8931",
                    "fee": None,
                    "merchant_accounts": [
                        {
                            "tag": "51",
                            "gui": "ID.CO.QRIS.WWW",
                            "pan": None,
                            "id": "ID2021080732989",
                            "criteria": "UME",
                        }
                    ],
                    "nmid": "ID2021080732989",
                    "crc": "B00A",
                }
            ]
        },
    )

    valid: Literal[True] = True
    is_dynamic: bool
    merchant_name: str
    merchant_city: str
    postal_code: str | None
    country: str
    currency: str
    amount: int | float | None = Field(description="Tag 54; whole rupiah for IDR codes")
    merchant_category_code: str
    fee: QrisFeeOut | None
    merchant_accounts: list[MerchantAccountOut]
    nmid: str | None
    crc: str


class QrisConverted(Answer):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "qris": "00020101021226…6304D045",
                    "amount": 50000,
                    "merchant_name": "BoonTrack",
                    "qr_svg": '<svg xmlns="http://www.w3.org/2000/svg" …</svg>',
                    "qr_png_base64": "iVBORw0KGgo…",
                }
            ]
        },
    )

    qris: str
    amount: int
    merchant_name: str
    qr_svg: str
    qr_png_base64: str


# -- the notification endpoint and errors ----------------------------------------------------


class NotificationAck(Answer):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"message": "ok"}]})

    message: Literal["ok"]


class ErrorDetail(Answer):
    code: str
    message: str = Field(description="Worded for a developer; never parse it")
    field: str | None = Field(default=None, description="The request field at fault, if one")
    tag: str | None = Field(default=None, description="QRIS errors: the data object at fault")


class ErrorEnvelope(Answer):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "error": {
                        "code": "invalid_request",
                        "message": "amount must be a positive integer no larger than 999999999999",
                        "field": "amount",
                    }
                }
            ]
        },
    )

    error: ErrorDetail


# -- webhooks Lunas sends ------------------------------------------------------------------------


class EventBody(Answer):
    """The fields every payment event carries (SPEC §6)."""

    order_id: str
    item_id: str
    item_name: str | None
    buyer_email: str
    buyer_name: str | None
    amount: int
    currency: str
    paid_at: str | None = moment()
    metadata: dict[str, MetadataValue]
    purchase_id: str
    environment: EnvironmentName
    payment_type: str | None
    payment_channel: str | None
    buyer_phone: str | None
    quantity: int | None = Field(default=None, description="Item checkouts only")


class DeliveryLink(Answer):
    type: Literal["file", "content"]
    url: str = Field(description="The buyer's signed link: 7 days, 10 downloads")


ITEM_PURCHASED_EXAMPLE = {
    "event": "item.purchased",
    "order_id": "INV-0001",
    "item_id": "__direct__",
    "item_name": "Nasi Goreng Spesial",
    "buyer_email": "buyer@example.com",
    "buyer_name": "John Doe",
    "amount": 75000,
    "currency": "IDR",
    "paid_at": "2026-05-06T10:00:00Z",
    "metadata": {"store_slug": "warung-bu-sari"},
    "purchase_id": PURCHASE_ID,
    "environment": "production",
    "payment_type": "bank_transfer",
    "payment_channel": "bca",
    "buyer_phone": None,
}


class ItemPurchased(EventBody):
    """Sent once per payment, on entering settlement."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [ITEM_PURCHASED_EXAMPLE]}
    )

    event: Literal["item.purchased"]
    delivery: DeliveryLink | None = Field(default=None, description="Items with a delivery")


class PaymentChanged(EventBody):
    """Money moved after checkout, or a checkout ended unpaid."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    **ITEM_PURCHASED_EXAMPLE,
                    "event": "payment.refunded",
                    "status": "partial_refund",
                    "changed_at": "2026-05-06T12:00:00Z",
                    "refund_id": "rfd_7Hn3Kp9Qs2Wx",
                    "refund_amount": 25000,
                    "refunded_amount": 25000,
                }
            ]
        },
    )

    event: Literal["payment.refunded", "payment.reversed", "payment.cancelled", "payment.expired"]
    status: Status
    changed_at: str = moment()
    refund_id: str | None = Field(default=None, description="payment.refunded only")
    refund_amount: int | None = Field(default=None, description="payment.refunded only")
    refunded_amount: int | None = Field(default=None, description="payment.refunded only")


class RefundFailed(EventBody):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    **ITEM_PURCHASED_EXAMPLE,
                    "event": "refund.failed",
                    "status": "settlement",
                    "changed_at": "2026-05-06T12:00:00Z",
                    "refund_id": "rfd_7Hn3Kp9Qs2Wx",
                    "refund_amount": 25000,
                    "reason": "stok habis",
                    "failure_message": "Transaction cannot be refunded",
                }
            ]
        },
    )

    event: Literal["refund.failed"]
    status: Status
    changed_at: str = moment()
    refund_id: str
    refund_amount: int
    reason: str | None
    failure_message: str | None


class OrderChanged(EventBody):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    **ITEM_PURCHASED_EXAMPLE,
                    "event": "order.completed",
                    "status": "settlement",
                    "changed_at": "2026-05-06T15:00:00Z",
                    "fulfilment_status": "completed",
                }
            ]
        },
    )

    event: Literal["order.completed", "order.cancelled"]
    status: Status
    changed_at: str = moment()
    fulfilment_status: FulfilmentName


class TestPing(Answer):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "event": "test.ping",
                    "project_id": "prj_nrQznVN1GtYjpj3dDf8O",
                    "environment": "sandbox",
                    "sent_at": "2026-05-06T10:00:00Z",
                }
            ]
        },
    )

    event: Literal["test.ping"]
    project_id: str
    environment: EnvironmentName
    sent_at: str = moment()
