"""The platform API (SPEC §3) and the Midtrans notification endpoint (SPEC §4). Thin routes."""

from __future__ import annotations

import json

from flask import Response, current_app, jsonify, request
from pydantic import ValidationError as PydanticValidationError
from werkzeug.exceptions import RequestEntityTooLarge

from app.api import bp
from app.api.errors import ApiError, error_response
from app.api.schemas import ShopPaymentRequest, first_error
from app.midtrans.client import MidtransUnavailableError
from app.models import Payment
from app.models.base import iso_utc
from app.services import ServiceError
from app.services.checkout import CheckoutRequest, create_checkout
from app.services.credentials import authenticate
from app.services.notifications import process_notification, record_notification
from app.services.verify import AmbiguousOrderIdError, PaymentView, find_payment_view

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
        raise ApiError("invalid_client", "unknown client_id or wrong client_secret", 401)
    try:
        fields = ShopPaymentRequest.model_validate(body)
    except PydanticValidationError as exc:
        message, field = first_error(exc)
        raise ApiError("invalid_request", message, 400, field) from None
    try:
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
    except MidtransUnavailableError as exc:
        raise ApiError("unavailable", str(exc), 503) from None
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
        return Response(status=204, headers={**VERIFY_HEADERS, "Access-Control-Max-Age": "600"})
    order_id = request.args.get("order_id", "")
    client_id = request.args.get("client_id") or None
    if not order_id or len(order_id) > 64:
        response = error_response(
            "invalid_request", "order_id is required (at most 64 characters)", 400, "order_id"
        )
    else:
        try:
            view = find_payment_view(order_id, client_id)
        except AmbiguousOrderIdError as exc:
            response = error_response(exc.code, exc.message, exc.http_status, "order_id")
        else:
            if view is None:
                response = error_response("not_found", "no payment with that order_id", 404)
            else:
                response = jsonify(_verify_body(view))
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
        raise ApiError("unsupported_media_type", "send the body as application/json", 415)
    raw = request.get_data(cache=False)
    if _streamed_past_limit(raw):
        raise RequestEntityTooLarge()
    try:
        body = json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError):
        raise ApiError("invalid_request", "the body is not valid JSON", 400) from None
    if not isinstance(body, dict):
        raise ApiError("invalid_request", "the body must be a JSON object", 400)
    return body


def _reject_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def _credentials(body: dict) -> tuple[str, str]:
    basic = request.authorization
    in_body = "client_id" in body or "client_secret" in body
    if in_body and basic is not None:
        raise ApiError(
            "invalid_request", "send credentials in the body or with HTTP Basic, not both", 400
        )
    if in_body:
        client_id, client_secret = body.get("client_id"), body.get("client_secret")
        for name, value in (("client_id", client_id), ("client_secret", client_secret)):
            if value is not None and not isinstance(value, str):
                raise ApiError("invalid_request", f"{name} must be a string", 400, name)
    elif basic is not None and basic.type == "basic":
        client_id, client_secret = basic.username, basic.password
    else:
        client_id = client_secret = None
    if not client_id or not client_secret:
        raise ApiError(
            "invalid_client",
            "client_id and client_secret are required, in the body or with HTTP Basic",
            401,
        )
    return client_id, client_secret


@bp.errorhandler(ApiError)
def _api_error(exc: ApiError):
    return error_response(exc.code, exc.message, exc.status, exc.field)


@bp.errorhandler(ServiceError)
def _service_error(exc: ServiceError):
    return error_response(exc.code, exc.message, exc.http_status, exc.field)
