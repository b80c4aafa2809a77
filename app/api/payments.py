"""The merchant API v1 (SPEC §11): read, cancel, refund and fulfil payments, the statistics,
the account and the webhook settings. Thin routes, as in routes.py: read the request, call one
service, shape its answer."""

from __future__ import annotations

from flask import request

from app.api import bp
from app.api.answers import (
    Account,
    PaymentList,
    PaymentObject,
    RefundList,
    RefundObject,
    Statistics,
    WebhookSettings,
    shaped,
)
from app.api.calls import (
    PostCall,
    authenticated_get,
    authenticated_post,
    fields_of,
    idempotent,
    query_of,
)
from app.api.schemas import (
    CancelRequest,
    FulfilmentRequest,
    PaymentListQuery,
    RefundRequest,
    StatisticsQuery,
    WebhookSettingsRequest,
)
from app.midtrans.client import MidtransUnavailableError, settings_for
from app.services.outbox.endpoints import configure_endpoint, parse_event_names, subscribed_events
from app.services.payments import read
from app.services.payments.cancel import cancel_payment
from app.services.payments.fulfilment import read_fulfilment, set_fulfilment
from app.services.payments.refunds import RefundAsked, refund_payment, refunds_for


@bp.get("/platform/payments")
def list_payments():
    client = authenticated_get()
    query = query_of(PaymentListQuery, request.args)
    found = read.list_payments(client, read.read_list_query(query.model_dump()))
    listed = {"data": found.data, "has_more": found.has_more, "next_cursor": found.next_cursor}
    return shaped(PaymentList, listed)


@bp.get("/platform/payments/<reference>")
def get_payment(reference: str):
    client = authenticated_get()
    return shaped(PaymentObject, read.describe(read.find_payment(client, reference)))


@bp.post("/platform/payments/<reference>/cancel")
def cancel(reference: str):
    call = authenticated_post(body_required=False)
    return idempotent(call, lambda: _cancel(call, reference))


def _cancel(call: PostCall, reference: str):
    fields_of(CancelRequest, call.body)
    return shaped(PaymentObject, read.describe(cancel_payment(call.client, reference)))


@bp.post("/platform/payments/<reference>/refunds")
def create_refund(reference: str):
    call = authenticated_post(body_required=False)
    return idempotent(call, lambda: _refund(call, reference))


def _refund(call: PostCall, reference: str):
    fields = fields_of(RefundRequest, call.body)
    refund, purchase_id = refund_payment(
        call.client, reference, RefundAsked(amount=fields.amount, reason=fields.reason)
    )
    return shaped(RefundObject, read.refund_object(refund, purchase_id)), 201


@bp.get("/platform/payments/<reference>/refunds")
def list_refunds(reference: str):
    client = authenticated_get()
    payment, refunds = refunds_for(client, reference)
    listed = [read.refund_object(refund, payment.purchase_id) for refund in refunds]
    return shaped(RefundList, {"data": listed})


@bp.post("/platform/payments/<reference>/fulfilment")
def fulfil(reference: str):
    call = authenticated_post()
    return idempotent(call, lambda: _fulfil(call, reference))


def _fulfil(call: PostCall, reference: str):
    fields = fields_of(FulfilmentRequest, call.body)
    payment = set_fulfilment(call.client, reference, read_fulfilment(fields.status))
    return shaped(PaymentObject, read.describe(payment))


@bp.get("/platform/statistics")
def statistics():
    client = authenticated_get()
    query = query_of(StatisticsQuery, request.args)
    return shaped(Statistics, read.statistics(client, query.period))


@bp.get("/platform/account")
def account():
    client = authenticated_get()
    try:
        settings_for(client.environment)
        configured = True
    except MidtransUnavailableError:
        configured = False
    return shaped(Account, read.account(client, configured))


@bp.patch("/platform/webhook")
def update_webhook():
    call = authenticated_post()
    fields = fields_of(WebhookSettingsRequest, call.body)
    events = parse_event_names(fields.events) if fields.events is not None else None
    endpoint = configure_endpoint(
        call.client.project_id,
        call.client.environment,
        events=events,
        url=fields.url,
        change_url="url" in call.body,
    )
    return shaped(WebhookSettings, {"url": endpoint.url, "events": subscribed_events(endpoint)})
