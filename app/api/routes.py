"""The platform API and the Midtrans notification endpoint (README, "Platform API"). Thin
routes: they read the request, call one service, and shape its answer; the errors they raise
are app/errors.py's, translated into the envelope app-wide."""

from __future__ import annotations

from flask import Response, current_app, jsonify, request
from pydantic import ValidationError as PydanticValidationError
from werkzeug.exceptions import RequestEntityTooLarge

from app.api import bp
from app.api.schemas import ShopPaymentRequest, first_error
from app.errors import (
    InvalidClientError,
    NotFoundError,
    UnsupportedMediaTypeError,
    ValidationError,
)
from app.json_input import JsonInputError, read_json
from app.models import Payment
from app.models.base import iso_utc
from app.services.accounts.credentials import authenticate
from app.services.checkout.create import CheckoutRequest, create_checkout
from app.services.checkout.lookup import PaymentView, find_payment_view
from app.services.checkout.notifications import process_notification, record_notification

VERIFY_HEADERS = {
    "Cache-Control": "no-store",
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET",
}


@bp.post("/platform/shop-payment")
def create_shop_payment():
    body = _json_object()
    client_id, client_secret = _credentials(body)
    client = authenticate(client_id, client_secret)
    if client is None:
        raise InvalidClientError("unknown client_id or wrong client_secret")
    try:
        fields = ShopPaymentRequest.model_validate(body)
    except PydanticValidationError as exc:
        message, field = first_error(exc)
        raise ValidationError(message, field) from None
    result = create_checkout(
        client,
        CheckoutRequest(
            amount=fields.amount,
            order_id=fields.order_id,
            buyer_email=str(fields.buyer_email),
            buyer_name=fields.buyer_name,
            item_name=fields.item_name,
            metadata=fields.metadata or {},
        ),
    )
    return jsonify(checkout_body(result.payment)), 201 if result.created else 200


def checkout_body(payment: Payment) -> dict:
    base = current_app.config["PUBLIC_BASE_URL"]
    return {
        "invoice_url": f"{base}/pay/{payment.purchase_id}",
        "order_id": payment.order_id,
        "purchase_id": payment.purchase_id,
        "status": "pending",
        "environment": payment.environment,
        "amount": payment.amount,
        "currency": payment.currency,
        "expires_at": iso_utc(payment.expires_at),
    }


@bp.route("/platform/shop-payment/verify", methods=["GET", "OPTIONS"])
def verify_shop_payment():
    if request.method == "OPTIONS":
        return Response(status=204, headers={"Access-Control-Max-Age": "600"})
    order_id = request.args.get("order_id", "")
    if not order_id or len(order_id) > 64:
        raise ValidationError("order_id is required (at most 64 characters)", "order_id")
    view = find_payment_view(order_id, request.args.get("client_id") or None)
    if view is None:
        raise NotFoundError("no payment with that order_id")
    return _verify_body(view)


@bp.after_request
def _verify_headers(response: Response) -> Response:
    # A buyer's page on the merchant's own site may poll verify, and no cache may answer it.
    if request.endpoint == "api.verify_shop_payment":
        response.headers.update(VERIFY_HEADERS)
    return response


def _verify_body(view: PaymentView) -> dict:
    return {
        "order_id": view.order_id,
        "purchase_id": view.purchase_id,
        "status": view.status,
        "amount": view.amount,
        "currency": view.currency,
        "store_name": view.store_name,
        "redirect_url": view.redirect_url,
        "paid_at": iso_utc(view.paid_at),
        "environment": view.environment,
        "client_id": view.client_id,
    }


@bp.post("/midtrans/notification")
def midtrans_notification():
    # get_data() enforces MAX_CONTENT_LENGTH: an oversized body is refused before it is stored.
    raw_body = request.get_data(cache=False)
    if _streamed_past_limit(raw_body):
        raise RequestEntityTooLarge()
    event_id = record_notification(raw_body, request.headers, request.remote_addr)
    process_notification(event_id)
    return {"message": "ok"}


def _streamed_past_limit(raw_body: bytes) -> bool:
    """A chunked body (no Content-Length) is cut at MAX_CONTENT_LENGTH without an error;
    one more byte waiting on the socket means the sender went past the limit."""
    if request.content_length is not None:
        return False
    if len(raw_body) < current_app.config["MAX_CONTENT_LENGTH"]:
        return False
    return bool(request.environ["wsgi.input"].read(1))


def _json_object() -> dict:
    if request.mimetype != "application/json":
        raise UnsupportedMediaTypeError("send the body as application/json")
    raw = request.get_data(cache=False)
    if _streamed_past_limit(raw):
        raise RequestEntityTooLarge()
    try:
        body = read_json(raw)
    except JsonInputError as exc:
        raise ValidationError(exc.message, exc.field) from None
    if not isinstance(body, dict):
        raise ValidationError("the body must be a JSON object")
    return body


def _credentials(body: dict) -> tuple[str, str]:
    basic = request.authorization
    in_body = "client_id" in body or "client_secret" in body
    if in_body and basic is not None:
        raise ValidationError("send credentials in the body or with HTTP Basic, not both")
    if in_body:
        client_id, client_secret = body.get("client_id"), body.get("client_secret")
        for name, value in (("client_id", client_id), ("client_secret", client_secret)):
            if value is not None and not isinstance(value, str):
                raise ValidationError(f"{name} must be a string", name)
    elif basic is not None and basic.type == "basic":
        client_id, client_secret = basic.username, basic.password
    else:
        client_id = client_secret = None
    if not client_id or not client_secret:
        raise InvalidClientError(
            "client_id and client_secret are required, in the body or with HTTP Basic"
        )
    return client_id, client_secret
