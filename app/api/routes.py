"""The platform API and the Midtrans notification endpoint (README, "Platform API"). Thin
routes: they read the request, call one service, and shape its answer; the errors they raise
are app/errors.py's, translated into the envelope app-wide."""

from __future__ import annotations

from functools import lru_cache

from flask import Response, current_app, request

from app.api import bp
from app.api.answers import CheckoutCreated, VerifyAnswer, shaped
from app.api.calls import (
    PostCall,
    authenticated_post,
    fields_of,
    idempotent,
    query_of,
    read_body,
)
from app.api.schemas import ShopPaymentRequest, VerifyQuery
from app.errors import NotFoundError
from app.models import Payment
from app.models.base import iso_utc
from app.rate_limits import address_and, rate_limits
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
    call = authenticated_post()
    return idempotent(call, lambda: _create_shop_payment(call))


def _create_shop_payment(call: PostCall):
    fields = fields_of(ShopPaymentRequest, call.body)
    result = create_checkout(
        call.client,
        CheckoutRequest(
            amount=fields.amount,
            order_id=fields.order_id,
            buyer_email=str(fields.buyer_email),
            buyer_name=fields.buyer_name,
            item_name=fields.item_name,
            metadata=fields.metadata or {},
            buyer_phone=fields.buyer_phone,
            expires_in_minutes=fields.expires_in_minutes,
            enabled_payments=fields.enabled_payments,
            return_url=fields.return_url,
            webhook_url=fields.webhook_url,
        ),
    )
    return shaped(CheckoutCreated, checkout_body(result.payment)), 201 if result.created else 200


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
@rate_limits(
    ("RATE_LIMIT_VERIFY", address_and(lambda: request.args.get("order_id", ""))),
    ("RATE_LIMIT_VERIFY_ADDRESS", None),
)
def verify_shop_payment():
    if request.method == "OPTIONS":
        return Response(status=204, headers={"Access-Control-Max-Age": "600"})
    query = query_of(VerifyQuery, request.args)
    view = find_payment_view(query.order_id, query.client_id or None)
    if view is None:
        raise NotFoundError("no payment with that order_id")
    return Response(_verify_json(view), mimetype="application/json")


@bp.after_request
def _verify_headers(response: Response) -> Response:
    # A buyer's page on the merchant's own site may poll verify, and no cache may answer it.
    if request.endpoint == "api.verify_shop_payment":
        response.headers.update(VERIFY_HEADERS)
    return response


@lru_cache(maxsize=50_000)
def _verify_json(view: PaymentView) -> str:
    """The answer is a function of the view alone (a frozen value): checked and encoded once
    per distinct view, since a waiting buyer's polls repeat the same one."""
    return current_app.json.dumps(shaped(VerifyAnswer, _verify_body(view)))


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
    raw_body = read_body()  # an oversized body is refused before it is stored
    event_id = record_notification(raw_body, request.headers, request.remote_addr)
    process_notification(event_id)
    return {"message": "ok"}
