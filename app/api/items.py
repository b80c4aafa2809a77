"""Items and their checkout (SPEC §13). Thin routes, as in routes.py: read the request, call
one service, shape its answer."""

from __future__ import annotations

from flask import request

from app.api import bp
from app.api.answers import ItemCheckoutCreated, ItemList, ItemObject, shaped
from app.api.calls import (
    PostCall,
    authenticated_get,
    authenticated_post,
    authenticated_upload,
    fields_of,
    idempotent,
    query_of,
)
from app.api.routes import checkout_body
from app.api.schemas import ItemCheckoutRequest, ItemFields, ItemListQuery
from app.input_guard import accepts_upload
from app.models import Item
from app.services.items import catalog
from app.services.items.checkout import ItemCheckout, checkout_item
from app.services.items.media import MAX_DELIVERY_BYTES, MAX_IMAGE_BYTES, MULTIPART_OVERHEAD

_CREDENTIALS = {"client_id", "client_secret"}


@bp.get("/platform/items")
def list_items():
    client = authenticated_get()
    query = query_of(ItemListQuery, request.args)
    found = catalog.list_items(client, query.limit, query.starting_after)
    listed = {"data": found.data, "has_more": found.has_more, "next_cursor": found.next_cursor}
    return shaped(ItemList, listed)


@bp.post("/platform/items")
def create_item():
    call = authenticated_post()
    return idempotent(call, lambda: _create(call))


def _create(call: PostCall):
    values = _item_values(call)
    return item_answer(catalog.create_item(call.client, values)), 201


@bp.get("/platform/items/<item_id>")
def get_item(item_id: str):
    client = authenticated_get()
    return item_answer(catalog.find_item(client, item_id))


@bp.patch("/platform/items/<item_id>")
def update_item(item_id: str):
    call = authenticated_post()
    return item_answer(catalog.update_item(call.client, item_id, _item_values(call)))


@bp.post("/platform/items/<item_id>/archive")
def archive_item(item_id: str):
    call = authenticated_post(body_required=False)
    return idempotent(call, lambda: item_answer(catalog.archive_item(call.client, item_id)))


@bp.put("/platform/items/<item_id>/delivery")
@accepts_upload(MAX_DELIVERY_BYTES + MULTIPART_OVERHEAD)
def put_delivery(item_id: str):
    client, upload = authenticated_upload()
    item = catalog.put_delivery_file(client, item_id, upload.stream, upload.filename)
    return item_answer(item)


@bp.delete("/platform/items/<item_id>/delivery")
def delete_delivery(item_id: str):
    client = authenticated_get()
    return item_answer(catalog.remove_delivery(client, item_id))


@bp.put("/platform/items/<item_id>/image")
@accepts_upload(MAX_IMAGE_BYTES + MULTIPART_OVERHEAD)
def put_image(item_id: str):
    client, upload = authenticated_upload()
    return item_answer(catalog.put_image(client, item_id, upload.stream, upload.filename))


@bp.delete("/platform/items/<item_id>/image")
def delete_image(item_id: str):
    client = authenticated_get()
    return item_answer(catalog.remove_image(client, item_id))


@bp.post("/platform/items/<item_id>/checkout")
def item_checkout(item_id: str):
    call = authenticated_post()
    return idempotent(call, lambda: _checkout(call, item_id))


def _checkout(call: PostCall, item_id: str):
    fields = fields_of(ItemCheckoutRequest, call.body)
    result = checkout_item(
        call.client,
        item_id,
        ItemCheckout(
            buyer_email=str(fields.buyer_email),
            quantity=fields.quantity,
            amount=fields.amount,
            buyer_name=fields.buyer_name,
            buyer_phone=fields.buyer_phone,
            metadata=fields.metadata or {},
            expires_in_minutes=fields.expires_in_minutes,
            enabled_payments=fields.enabled_payments,
            return_url=fields.return_url,
            webhook_url=fields.webhook_url,
        ),
    )
    return shaped(ItemCheckoutCreated, {**checkout_body(result.payment), "item_id": item_id}), 201


def item_answer(item: Item) -> dict:
    return shaped(ItemObject, catalog.item_object(item))


def _item_values(call: PostCall) -> dict:
    """The fields the body named (a null included: `stock: null` is unlimited), checked."""
    fields = fields_of(ItemFields, call.body)
    values = {name: getattr(fields, name) for name in call.body if name not in _CREDENTIALS}
    if values.get("delivery") is not None:
        values["delivery"] = values["delivery"].content  # hidden text: a file is uploaded
    return values
