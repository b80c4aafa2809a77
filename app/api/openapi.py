"""The machine-readable contract (SPEC §12): `GET /api/openapi.json`, OpenAPI 3.1.

Nothing in it is written twice. Schemas are the pydantic models that check requests
(app/api/schemas.py, app/midtrans/notification.py) and shape answers (app/api/answers.py);
paths and methods come from the URL map; each error's code and status come from its exception
class. What this file adds is what no model knows: which model a route reads and answers with,
the refusals it can make, and a sentence for a human."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import current_app, jsonify
from pydantic import BaseModel, Field
from pydantic.json_schema import models_json_schema
from werkzeug.routing import Rule

from app.api import answers as out
from app.api import bp
from app.api import schemas as ask
from app.errors import (
    FileTooLargeError,
    InvalidClientError,
    InvalidImageError,
    InvalidQrisError,
    InvalidStateError,
    NotFoundError,
    RateLimitedError,
    RefundExceedsPaymentError,
    RefundNotSupportedError,
    RefundRefusedError,
    ServiceError,
    UnavailableError,
    UnsupportedMediaTypeError,
    UpstreamError,
    ValidationError,
)
from app.midtrans.notification import NotificationBody
from app.services.accounts.standing import (
    ProductionNotApprovedError,
    ProjectArchivedError,
    ProjectSuspendedError,
)
from app.services.checkout.create import OrderIdConflictError
from app.services.checkout.lookup import ClientIdRequiredError
from app.services.checkout.notifications import AmountMismatchError, InvalidSignatureError
from app.services.checkout.stock import ItemInactiveError, SoldOutError
from app.services.idempotency import HEADER as IDEMPOTENCY_HEADER
from app.services.idempotency import RETENTION as IDEMPOTENCY_RETENTION
from app.services.idempotency import IdempotencyKeyInUseError, IdempotencyKeyReusedError
from app.services.items.catalog import SlugTakenError

REF = "#/components/schemas/{model}"
RETRY_AFTER = "#/components/headers/Retry-After"
Refusals = tuple[type[ServiceError], ...]


class FileUpload(ask.Credentials):
    """A multipart upload: the file, and the credentials when HTTP Basic is not used."""

    file: bytes = Field(description="The file's bytes; its type is read from its content")


# Every authenticated call may be refused for these; every POST also for its body.
AUTHENTICATED: Refusals = (ValidationError, InvalidClientError, RateLimitedError)
POSTED: Refusals = (FileTooLargeError, UnsupportedMediaTypeError)
KEYED: Refusals = (IdempotencyKeyReusedError, IdempotencyKeyInUseError)
NEW_CHECKOUT: Refusals = (
    ProjectSuspendedError,
    ProjectArchivedError,
    ProductionNotApprovedError,
    UnavailableError,
    UpstreamError,
)
MIDTRANS_CALL: Refusals = (UnavailableError, UpstreamError)


@dataclass(frozen=True)
class Operation:
    """What a route reads and answers with; its path and method are the URL map's."""

    tag: str
    summary: str
    answers: dict[int, type[BaseModel]]
    body: type[BaseModel] | None = None
    body_required: bool = True
    upload: bool = False
    query: type[ask.Query] | None = None
    refusals: Refusals = ()
    authenticated: bool = True
    limited: bool = True  # RateLimit-* headers and a 429 (app/rate_limits.py)
    idempotent: bool = False  # takes an Idempotency-Key
    description: str = ""
    path_params: dict[str, str] = field(default_factory=dict)


REFERENCE = {"reference": "The purchase_id (pur_…) or your order_id"}
ITEM_ID = {"item_id": "The item's id (itm_…)"}

OPERATIONS: dict[str, Operation] = {
    "api.create_shop_payment": Operation(
        "Checkout",
        "Create a hosted checkout",
        {201: out.CheckoutCreated, 200: out.CheckoutCreated},
        body=ask.ShopPaymentRequest,
        refusals=POSTED + KEYED + NEW_CHECKOUT + (OrderIdConflictError,),
        idempotent=True,
        description="201 for a new checkout; 200 with the same checkout when the same order_id "
        "comes again with the same fields (409 order_id_conflict when they differ).",
    ),
    "api.verify_shop_payment": Operation(
        "Checkout",
        "A payment's status, for the buyer's page",
        {200: out.VerifyAnswer},
        query=ask.VerifyQuery,
        refusals=(ValidationError, ClientIdRequiredError, NotFoundError, RateLimitedError),
        authenticated=False,
        description="No credential: safe to call from the buyer's browser (CORS open, never "
        "cached). Never answers with the buyer's email or name.",
    ),
    "api.midtrans_notification": Operation(
        "Midtrans",
        "Midtrans's HTTP notification",
        {200: out.NotificationAck},
        body=NotificationBody,
        refusals=(
            ValidationError,
            InvalidSignatureError,
            NotFoundError,
            FileTooLargeError,
            AmountMismatchError,
            UnavailableError,
        ),
        authenticated=False,
        limited=False,
        description="Set this URL as the Payment Notification URL in the Midtrans dashboard. "
        "Stored before anything else, verified with signature_key, confirmed with Get Status. "
        "Never rate limited. Any answer but 200 makes Midtrans retry.",
    ),
    "api.list_payments": Operation(
        "Payments",
        "List payments, newest first",
        {200: out.PaymentList},
        query=ask.PaymentListQuery,
    ),
    "api.get_payment": Operation(
        "Payments",
        "One payment",
        {200: out.PaymentObject},
        refusals=(NotFoundError,),
        path_params=REFERENCE,
    ),
    "api.cancel": Operation(
        "Payments",
        "Cancel a pending payment",
        {200: out.PaymentObject},
        body=ask.CancelRequest,
        body_required=False,
        refusals=POSTED + KEYED + MIDTRANS_CALL + (NotFoundError, InvalidStateError),
        idempotent=True,
        path_params=REFERENCE,
    ),
    "api.create_refund": Operation(
        "Payments",
        "Refund a settled payment, in full or in part",
        {201: out.RefundObject},
        body=ask.RefundRequest,
        body_required=False,
        refusals=POSTED
        + KEYED
        + MIDTRANS_CALL
        + (
            NotFoundError,
            InvalidStateError,
            RefundExceedsPaymentError,
            RefundNotSupportedError,
            RefundRefusedError,
        ),
        idempotent=True,
        description="Without amount, everything that remains is refunded. The refund_id is "
        "Midtrans's refund_key: a retry never refunds twice.",
        path_params=REFERENCE,
    ),
    "api.list_refunds": Operation(
        "Payments",
        "A payment's refunds",
        {200: out.RefundList},
        refusals=(NotFoundError,),
        path_params=REFERENCE,
    ),
    "api.fulfil": Operation(
        "Payments",
        "Mark a paid order completed or cancelled",
        {200: out.PaymentObject},
        body=ask.FulfilmentRequest,
        refusals=POSTED + KEYED + (NotFoundError, InvalidStateError),
        idempotent=True,
        path_params=REFERENCE,
    ),
    "api.statistics": Operation(
        "Payments",
        "Totals over WIB days",
        {200: out.Statistics},
        query=ask.StatisticsQuery,
    ),
    "api.account": Operation(
        "Account",
        "The project environment this credential belongs to",
        {200: out.Account},
    ),
    "api.update_webhook": Operation(
        "Account",
        "Set the webhook URL and its events",
        {200: out.WebhookSettings},
        body=ask.WebhookSettingsRequest,
        refusals=POSTED,
        description="url: null removes the endpoint. The URL must be https and must not point "
        "at a private, loopback or link-local address.",
    ),
    "api.list_items": Operation(
        "Items", "List items", {200: out.ItemList}, query=ask.ItemListQuery
    ),
    "api.create_item": Operation(
        "Items",
        "Create an item",
        {201: out.ItemObject},
        body=ask.ItemFields,
        refusals=POSTED + KEYED + (SlugTakenError,),
        idempotent=True,
        description="name and the price rules are required: price for a fixed price, "
        "min_amount/max_amount for a flexible one.",
    ),
    "api.get_item": Operation(
        "Items", "One item", {200: out.ItemObject}, refusals=(NotFoundError,), path_params=ITEM_ID
    ),
    "api.update_item": Operation(
        "Items",
        "Change an item",
        {200: out.ItemObject},
        body=ask.ItemFields,
        refusals=POSTED + (NotFoundError, SlugTakenError),
        description="Only the fields sent change; a null clears what may be cleared "
        "(stock: null is unlimited, delivery: null removes the delivery).",
        path_params=ITEM_ID,
    ),
    "api.archive_item": Operation(
        "Items",
        "Archive an item: off sale, kept for its payments",
        {200: out.ItemObject},
        body=ask.Credentials,
        body_required=False,
        refusals=POSTED + KEYED + (NotFoundError,),
        idempotent=True,
        path_params=ITEM_ID,
    ),
    "api.item_checkout": Operation(
        "Items",
        "Start a checkout for an item",
        {201: out.ItemCheckoutCreated},
        body=ask.ItemCheckoutRequest,
        refusals=POSTED + KEYED + NEW_CHECKOUT + (NotFoundError, SoldOutError, ItemInactiveError),
        idempotent=True,
        path_params=ITEM_ID,
    ),
    "api.put_delivery": Operation(
        "Items",
        "Upload the file a buyer gets once paid (25 MB at most)",
        {200: out.ItemObject},
        body=FileUpload,
        upload=True,
        refusals=POSTED + (NotFoundError,),
        path_params=ITEM_ID,
    ),
    "api.delete_delivery": Operation(
        "Items",
        "Remove the item's delivery",
        {200: out.ItemObject},
        refusals=(NotFoundError,),
        path_params=ITEM_ID,
    ),
    "api.put_image": Operation(
        "Items",
        "Upload the item's picture (PNG, JPEG or WebP, 2 MB at most)",
        {200: out.ItemObject},
        body=FileUpload,
        upload=True,
        refusals=POSTED + (NotFoundError, InvalidImageError),
        path_params=ITEM_ID,
    ),
    "api.delete_image": Operation(
        "Items",
        "Remove the item's picture",
        {200: out.ItemObject},
        refusals=(NotFoundError,),
        path_params=ITEM_ID,
    ),
    "api.qris_info_get": Operation(
        "QRIS",
        "Read a QRIS code",
        {200: out.QrisInfo},
        query=ask.QrisInfoQuery,
        refusals=(InvalidQrisError,),
    ),
    "api.qris_info_post": Operation(
        "QRIS",
        "Read a QRIS code (sent in the body)",
        {200: out.QrisInfo},
        body=ask.QrisInfoRequest,
        refusals=POSTED + KEYED + (InvalidQrisError,),
        idempotent=True,
    ),
    "api.qris_convert": Operation(
        "QRIS",
        "Make a dynamic QRIS code with an amount",
        {200: out.QrisConverted},
        body=ask.QrisConvertRequest,
        refusals=POSTED + KEYED + (InvalidQrisError, InvalidImageError),
        idempotent=True,
        description="The code as text (qris) or a picture of it (image, base64 PNG, JPEG or "
        "WebP). The code is rebuilt with tag 54 (and a fee, if given) and a new CRC.",
    ),
}

WEBHOOKS: dict[str, tuple[type[BaseModel], str]] = {
    "item.purchased": (out.ItemPurchased, "A payment settled: deliver the order"),
    "payment.refunded": (out.PaymentChanged, "A refund succeeded (in full or in part)"),
    "payment.reversed": (out.PaymentChanged, "Money taken back after settlement (chargeback)"),
    "payment.cancelled": (out.PaymentChanged, "A pending payment was cancelled"),
    "payment.expired": (out.PaymentChanged, "A pending payment expired unpaid"),
    "refund.failed": (out.RefundFailed, "Midtrans refused or failed a refund"),
    "order.completed": (out.OrderChanged, "You marked the order completed"),
    "order.cancelled": (out.OrderChanged, "You marked the order cancelled"),
    "test.ping": (out.TestPing, "Sent from the portal's Test button"),
}

# What an answer hands on to later calls (OpenAPI links): its field → a path parameter.
LINKS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "api.create_shop_payment": (
        "purchase_id",
        "reference",
        ("get_payment", "cancel", "create_refund", "list_refunds", "fulfil"),
    ),
    "api.create_item": (
        "item_id",
        "item_id",
        (
            "get_item",
            "update_item",
            "archive_item",
            "item_checkout",
            "put_delivery",
            "delete_delivery",
            "put_image",
            "delete_image",
        ),
    ),
}

RATE_LIMIT_HEADERS = {
    "RateLimit-Limit": "Requests allowed in the current window",
    "RateLimit-Remaining": "Requests left in the current window",
    "RateLimit-Reset": "Seconds until the window resets",
}

WEBHOOK_HEADERS = {
    "webhook-id": "The event's id: the same on every retry (deduplicate on it)",
    "webhook-timestamp": "Unix seconds when this attempt was signed",
    "webhook-signature": "v1,<base64 HMAC-SHA256> (Standard Webhooks)",
}


@bp.get("/openapi.json")
def openapi_document():
    return jsonify(current_document())


def current_document() -> dict[str, Any]:
    """This app's document, built once (the URL map and the models do not change)."""
    document = current_app.extensions.get("lunas_openapi")
    if document is None:
        document = current_app.extensions["lunas_openapi"] = build_document()
    return document


def build_document() -> dict[str, Any]:
    """The document for this app's URL map. A route under /api with no entry in OPERATIONS
    stops the build: an undocumented operation cannot ship."""
    schemas = _component_schemas()
    paths: dict[str, dict[str, Any]] = {}
    for rule in sorted(current_app.url_map.iter_rules(), key=lambda rule: rule.rule):
        if not rule.rule.startswith("/api/") or rule.endpoint == "api.openapi_document":
            continue
        operation = OPERATIONS[rule.endpoint]
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            paths.setdefault(_openapi_path(rule), {})[method.lower()] = _operation(rule, operation)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Lunas platform API",
            "version": "1.0.0",
            "description": "Hosted Midtrans checkout for Indonesian merchants. Amounts are whole "
            "rupiah; times are ISO 8601 UTC. Guides: /docs.",
        },
        "servers": [{"url": current_app.config["PUBLIC_BASE_URL"]}],
        "tags": [{"name": name} for name in ("Checkout", "Payments", "Items", "QRIS", "Account")]
        + [{"name": "Midtrans"}],
        "security": [{"basic": []}],
        "paths": paths,
        "webhooks": {
            name: _webhook(name, model, summary) for name, (model, summary) in WEBHOOKS.items()
        },
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "basic": {
                    "type": "http",
                    "scheme": "basic",
                    "description": "client_id as the user name, client_secret as the password. "
                    "POSTs may instead carry both in the JSON body.",
                }
            },
            "headers": {
                name: {"description": text, "schema": {"type": "integer"}}
                for name, text in RATE_LIMIT_HEADERS.items()
            }
            | {
                "Retry-After": {
                    "description": "Seconds to wait before the next try",
                    "schema": {"type": "integer"},
                }
            },
        },
    }


def _component_schemas() -> dict[str, Any]:
    models: list[tuple[type[BaseModel], str]] = [(out.ErrorEnvelope, "serialization")]
    for operation in OPERATIONS.values():
        if operation.body is not None:
            models.append((operation.body, "validation"))
        models.extend((model, "serialization") for model in operation.answers.values())
    models.extend((model, "validation") for model, _ in WEBHOOKS.values())
    unique = list(dict.fromkeys(models))
    _, document = models_json_schema(unique, by_alias=True, ref_template=REF)
    return document["$defs"]


def _openapi_path(rule: Rule) -> str:
    path = rule.rule
    for argument in rule.arguments:
        path = path.replace(f"<{argument}>", "{" + argument + "}")
    return path


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": REF.format(model=model.__name__)}


def _example(model: type[BaseModel]) -> Any:
    examples = (model.model_config.get("json_schema_extra") or {}).get("examples")
    return examples[0] if examples else None


def _operation(rule: Rule, operation: Operation) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "operationId": rule.endpoint.removeprefix("api."),
        "tags": [operation.tag],
        "summary": operation.summary,
    }
    if operation.description:
        spec["description"] = operation.description
    if not operation.authenticated:
        spec["security"] = []
    parameters = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "description": operation.path_params.get(name, ""),
            "schema": {"type": "string", "minLength": 1, "maxLength": 254},
        }
        for name in sorted(rule.arguments)
    ]
    if operation.query is not None:
        parameters.extend(_query_parameters(operation.query))
    if operation.idempotent:
        parameters.append(
            {
                "name": IDEMPOTENCY_HEADER,
                "in": "header",
                "required": False,
                "description": "Any unique string (1-255 printable ASCII): the same key with "
                f"the same request replays the first answer for "
                f"{IDEMPOTENCY_RETENTION.total_seconds() / 3600:g} hours.",
                "schema": {"type": "string", "minLength": 1, "maxLength": 255},
            }
        )
    if parameters:
        spec["parameters"] = parameters
    if operation.body is not None:
        spec["requestBody"] = _request_body(operation)
    spec["responses"] = _responses(operation)
    if rule.endpoint in LINKS:
        source, parameter, targets = LINKS[rule.endpoint]
        links = {
            target: {
                "operationId": target,
                "parameters": {parameter: f"$response.body#/{source}"},
            }
            for target in targets
        }
        for status in operation.answers:
            spec["responses"][str(status)]["links"] = links
    return spec


def _query_parameters(model: type[ask.Query]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(ref_template=REF)
    required = set(schema.get("required", ()))
    parameters = []
    for name, property_schema in schema["properties"].items():
        description = property_schema.pop("description", "")
        property_schema.pop("title", None)
        parameter = {"name": name, "in": "query", "required": name in required}
        if description:
            parameter["description"] = description
        parameter["schema"] = property_schema
        parameters.append(parameter)
    return parameters


def _request_body(operation: Operation) -> dict[str, Any]:
    assert operation.body is not None
    media = "multipart/form-data" if operation.upload else "application/json"
    content: dict[str, Any] = {"schema": _ref(operation.body)}
    example = _example(operation.body)
    if example is not None:
        content["example"] = example
    return {"required": operation.body_required, "content": {media: content}}


def _responses(operation: Operation) -> dict[str, Any]:
    headers = (
        {name: {"$ref": f"#/components/headers/{name}"} for name in RATE_LIMIT_HEADERS}
        if operation.limited
        else {}
    )
    responses: dict[str, Any] = {}
    for status, model in sorted(operation.answers.items()):
        content: dict[str, Any] = {"schema": _ref(model)}
        example = _example(model)
        if example is not None:
            content["example"] = example
        answer: dict[str, Any] = {
            "description": "Created" if status == 201 else "OK",
            "content": {"application/json": content},
        }
        if headers:
            answer["headers"] = headers
        responses[str(status)] = answer
    refusals = operation.refusals
    if operation.authenticated:
        refusals = AUTHENTICATED + refusals
    if not operation.limited:
        refusals = tuple(refusal for refusal in refusals if refusal is not RateLimitedError)
    for status, group in _by_status(refusals).items():
        answer = {
            "description": ", ".join(refusal.code for refusal in group),
            "content": {
                "application/json": {
                    "schema": _ref(out.ErrorEnvelope),
                    "examples": {
                        refusal.code: {"value": _error_example(refusal)} for refusal in group
                    },
                }
            },
        }
        if status == 429:
            answer["headers"] = {**headers, "Retry-After": {"$ref": RETRY_AFTER}}
        elif headers:
            answer["headers"] = headers
        responses[str(status)] = answer
    return responses


def _by_status(refusals: Refusals) -> dict[int, list[type[ServiceError]]]:
    grouped: dict[int, list[type[ServiceError]]] = {}
    for refusal in dict.fromkeys(refusals):
        group = grouped.setdefault(refusal.http_status, [])
        if all(known.code != refusal.code for known in group):
            group.append(refusal)
    return dict(sorted(grouped.items()))


def _error_example(refusal: type[ServiceError]) -> dict[str, Any]:
    """The error as the API words it: the class's own message where it makes one, else the
    first line of what it is for."""
    try:
        message = refusal().message  # type: ignore[call-arg]
    except TypeError:
        lines = (refusal.__doc__ or "").strip().splitlines()  # a class's own, never inherited
        message = lines[0] if lines else refusal.code
    return {"error": {"code": refusal.code, "message": message}}


def _webhook(name: str, model: type[BaseModel], summary: str) -> dict[str, Any]:
    content: dict[str, Any] = {"schema": _ref(model)}
    example = _example(model)
    if example is not None and example["event"] == name:
        content["example"] = example
    return {
        "post": {
            "operationId": f"webhook_{name.replace('.', '_')}",
            "summary": summary,
            "description": "POSTed to your webhook URL, signed with Standard Webhooks (verify "
            "with the standardwebhooks library and your whsec_ secret). Answer 2xx within "
            f"{current_app.config['WEBHOOK_TIMEOUT_SECONDS']} seconds; anything else is "
            "retried with back-off. The same event may arrive more "
            "than once: deduplicate on webhook-id.",
            "security": [],
            "parameters": [
                {
                    "name": header,
                    "in": "header",
                    "required": True,
                    "description": text,
                    "schema": {"type": "string"},
                }
                for header, text in WEBHOOK_HEADERS.items()
            ],
            "requestBody": {"required": True, "content": {"application/json": content}},
            "responses": {"2XX": {"description": "Received: no retry"}},
        }
    }
