"""One worked call for each operation of the platform API: what the developer site shows in
curl, Python, Node and PHP (app/docs/snippets.py writes them from this), and what the tests
run against the app, so a snippet that stops working stops the build.

An example names what it needs to exist first (`needs`): a pending payment, a settled one, or
an item. The reader exports its id (PURCHASE_ID, ORDER_ID, ITEM_ID) as the page says; the
tests make one and do the same."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Need = Literal["pending", "settled", "item"]


@dataclass(frozen=True)
class Env:
    """A value the snippet reads from the environment: `$NAME` in the shell."""

    name: str


@dataclass(frozen=True)
class Upload:
    """A file sent as multipart/form-data under `field`."""

    field: str
    filename: str


@dataclass(frozen=True)
class Example:
    method: str
    path: str  # {reference} is PURCHASE_ID, {item_id} is ITEM_ID
    query: dict[str, str | Env] = field(default_factory=dict)
    body: dict[str, Any] | None = None
    upload: Upload | None = None
    authenticated: bool = True
    needs: Need | None = None

    @property
    def variables(self) -> tuple[str, ...]:
        """The environment variables the snippet reads, in the order it reads them."""
        names = ["LUNAS_URL"]
        if self.authenticated:
            names += ["LUNAS_CLIENT_ID", "LUNAS_CLIENT_SECRET"]
        names += [PATH_VARIABLES[key] for key in PATH_VARIABLES if "{" + key + "}" in self.path]
        names += [value.name for value in self.query.values() if isinstance(value, Env)]
        return tuple(dict.fromkeys(names))


PATH_VARIABLES = {"reference": "PURCHASE_ID", "item_id": "ITEM_ID"}

# A static QRIS code as a merchant's sticker holds it (a made-up merchant; the CRC is right).
STATIC_QRIS = (
    "00020101021126570011ID.DANA.WWW011893600915303379682702090337968270303UMI"
    "51440014ID.CO.QRIS.WWW0215ID10265640751030303UMI5204737253033605802ID"
    "5914Warung Bu Sari6014Kota Surakarta61055711263047E9D"
)

PAYMENTS = "/api/platform/payments"
ITEMS = "/api/platform/items"

EXAMPLES: dict[str, Example] = {
    "create_shop_payment": Example(
        "POST",
        "/api/platform/shop-payment",
        body={
            "amount": 75000,
            "order_id": "order-1002",
            "buyer_email": "budi@example.com",
            "buyer_name": "Budi Santoso",
            "item_name": "Kopi Gayo 250 g",
            "metadata": {"store_slug": "warung-bu-sari"},
        },
    ),
    "verify_shop_payment": Example(
        "GET",
        "/api/platform/shop-payment/verify",
        query={"order_id": Env("ORDER_ID"), "client_id": Env("LUNAS_CLIENT_ID")},
        authenticated=False,
        needs="pending",
    ),
    "list_payments": Example("GET", PAYMENTS, query={"status": "settlement", "limit": "10"}),
    "get_payment": Example("GET", PAYMENTS + "/{reference}", needs="pending"),
    "cancel": Example("POST", PAYMENTS + "/{reference}/cancel", needs="pending"),
    "create_refund": Example(
        "POST",
        PAYMENTS + "/{reference}/refunds",
        body={"amount": 25000, "reason": "one item out of stock"},
        needs="settled",
    ),
    "list_refunds": Example("GET", PAYMENTS + "/{reference}/refunds", needs="settled"),
    "fulfil": Example(
        "POST", PAYMENTS + "/{reference}/fulfilment", body={"status": "completed"}, needs="settled"
    ),
    "statistics": Example("GET", "/api/platform/statistics", query={"period": "month"}),
    "account": Example("GET", "/api/platform/account"),
    "update_webhook": Example(
        "PATCH",
        "/api/platform/webhook",
        body={
            "url": "https://warung-bu-sari.example.com/hooks/lunas",
            "events": ["item.purchased", "payment.refunded", "payment.expired"],
        },
    ),
    "list_items": Example("GET", ITEMS, query={"limit": "10"}),
    "create_item": Example(
        "POST",
        ITEMS,
        body={
            "name": "E-book Resep Nusantara",
            "description": "120 resep, PDF",
            "price": 49000,
            "stock": 500,
        },
    ),
    "get_item": Example("GET", ITEMS + "/{item_id}", needs="item"),
    "update_item": Example(
        "PATCH", ITEMS + "/{item_id}", body={"price": 45000, "stock": None}, needs="item"
    ),
    "archive_item": Example("POST", ITEMS + "/{item_id}/archive", needs="item"),
    "item_checkout": Example(
        "POST",
        ITEMS + "/{item_id}/checkout",
        body={"buyer_email": "sari@example.com", "quantity": 2},
        needs="item",
    ),
    "put_delivery": Example(
        "PUT", ITEMS + "/{item_id}/delivery", upload=Upload("file", "resep.pdf"), needs="item"
    ),
    "delete_delivery": Example("DELETE", ITEMS + "/{item_id}/delivery", needs="item"),
    "put_image": Example(
        "PUT", ITEMS + "/{item_id}/image", upload=Upload("file", "cover.png"), needs="item"
    ),
    "delete_image": Example("DELETE", ITEMS + "/{item_id}/image", needs="item"),
    "qris_info_get": Example("GET", "/api/platform/qris/info", query={"qris": STATIC_QRIS}),
    "qris_info_post": Example("POST", "/api/platform/qris/info", body={"qris": STATIC_QRIS}),
    "qris_convert": Example(
        "POST",
        "/api/platform/qris/convert",
        body={"qris": STATIC_QRIS, "amount": 25000, "fee_fixed": 1000},
    ),
}

# Verifying a delivery, as the page shows it (the tests run the Python one).
WEBHOOK_VERIFY_PYTHON = '''import os

from standardwebhooks import Webhook, WebhookVerificationError

# whsec_…: the portal's Webhooks page shows it (Rotate makes a new one).
webhook = Webhook(os.environ["LUNAS_WEBHOOK_SECRET"])


def verified_event(body: bytes, headers: dict[str, str]) -> dict | None:
    """The event Lunas sent, or None: a wrong signature, or a delivery over 5 minutes old."""
    try:
        return webhook.verify(body, headers)
    except WebhookVerificationError:
        return None'''

WEBHOOK_VERIFY_NODE = """import { Webhook } from "standardwebhooks";

// whsec_…: the portal's Webhooks page shows it. Standard Webhooks' Node library takes the
// secret without its "whsec_" prefix.
const webhook = new Webhook(process.env.LUNAS_WEBHOOK_SECRET.replace(/^whsec_/, ""));

// body: the raw bytes as received (a string), before any JSON parsing.
export function verifiedEvent(body, headers) {
  try {
    return webhook.verify(body, headers);
  } catch {
    return null; // a wrong signature, or a delivery over 5 minutes old
  }
}"""
