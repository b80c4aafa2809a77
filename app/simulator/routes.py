"""Midtrans's paths and wire format: Snap create, the payment page, Get Status."""

from __future__ import annotations

import hmac
import json
import uuid
from urllib.parse import urlencode

from flask import abort, jsonify, redirect, render_template, request
from sqlalchemy import select

from app.extensions import csrf, db
from app.midtrans.status import NOTIFICATION_STATUS_CODES
from app.models import SimulatedTransaction
from app.simulator import bp
from app.simulator.service import (
    SnapRequestError,
    create_transaction,
    end_transaction,
    find_transaction,
    not_found_answer,
    notify,
    notify_soon,
    refund_transaction,
    set_status,
    simulator_server_key,
    status_response,
)

METHODS = {
    "bank_transfer": "Virtual account BCA",
    "gopay": "GoPay",
    "qris": "QRIS",
    "cstore": "Indomaret",
    "credit_card": "Kartu kredit",
}
OUTCOMES = ("pay", "pending", "deny", "expire")
SNAP_UNAUTHORIZED = [
    "Access denied due to unauthorized transaction, please check client or server key",
    "Visit https://snap-docs.midtrans.com/#request-headers for more details",
]


def _authorized() -> bool:
    auth = request.authorization
    if auth is None or auth.type != "basic" or not auth.username:
        return False
    return hmac.compare_digest(auth.username.encode(), simulator_server_key().encode())


@bp.post("/snap/v1/transactions")
@csrf.exempt  # a server-to-server API authenticated by the server key, like Midtrans's
def snap_create():
    if not _authorized():
        return jsonify({"error_messages": SNAP_UNAUTHORIZED}), 401
    try:
        body = json.loads(request.get_data(cache=False) or b"null")
    except ValueError:
        body = None
    header = request.headers.get("X-Override-Notification") or request.headers.get(
        "X-Append-Notification", ""
    )
    urls = [url.strip() for url in header.split(",") if url.strip()]
    try:
        transaction = create_transaction(body, urls)
    except SnapRequestError as exc:
        return jsonify({"error_messages": [exc.message]}), 400
    redirect_url = (
        f"{request.host_url.rstrip('/')}{bp.url_prefix}/snap/v4/redirection/{transaction.token}"
    )
    return jsonify({"token": transaction.token, "redirect_url": redirect_url}), 201


def _unauthorized():
    return jsonify(
        {
            "status_code": "401",
            "status_message": "Unknown Merchant server_key/id",
            "id": str(uuid.uuid4()),
        }
    ), 401


@bp.get("/v2/<path:reference>/status")
def get_status(reference: str):
    if not _authorized():
        return _unauthorized()
    transaction = find_transaction(reference)
    if transaction is None or transaction.transaction_status is None:
        # Midtrans answers HTTP 200 with a "404" in the body.
        return jsonify(not_found_answer()), 200
    return jsonify(status_response(transaction))


@bp.post("/v2/<path:reference>/<any(cancel, expire):action>")
@csrf.exempt
def end(reference: str, action: str):
    return _act(reference, lambda transaction: end_transaction(transaction, action))


@bp.post("/v2/<path:reference>/refund")
@bp.post("/v2/<path:reference>/refund/online/direct")
@csrf.exempt
def refund(reference: str):
    try:
        body = json.loads(request.get_data(cache=False) or b"{}")
    except ValueError:
        body = None
    return _act(reference, lambda transaction: refund_transaction(transaction, body))


def _act(reference: str, action):
    """Midtrans's answer to an action on a transaction (HTTP 200 with the outcome in
    status_code, as Midtrans answers), and its notification shortly after a change."""
    if not _authorized():
        return _unauthorized()
    transaction = find_transaction(reference)
    if transaction is None or transaction.transaction_status is None:
        return jsonify(not_found_answer()), 200
    answer, changed = action(transaction)
    if changed:
        notify_soon(transaction.order_id)
    return jsonify(answer), 200


@bp.get("/snap/v4/redirection/<token>")
def payment_page(token: str):
    transaction = _by_token(token)
    return render_template(
        "simulator/pay.html", transaction=transaction, methods=METHODS, results=None
    )


@bp.post("/snap/v4/redirection/<token>")
def payment_action(token: str):
    transaction = _by_token(token)
    outcome = request.form.get("outcome")
    method = request.form.get("method", "bank_transfer")
    if outcome not in OUTCOMES or method not in METHODS:
        abort(400)
    if transaction.transaction_status not in (None, "pending"):
        return render_template(
            "simulator/pay.html", transaction=transaction, methods=METHODS, results=None
        ), 409
    results = []
    if transaction.transaction_status is None and not (
        method == "credit_card" and outcome in ("pay", "deny")
    ):
        # Choosing a VA, wallet or store method opens a pending transaction first.
        set_status(transaction, "pending", method)
        results += notify(transaction)
    final = {
        "pay": "capture" if method == "credit_card" else "settlement",
        "deny": "deny",
        "expire": "expire",
        "pending": None,
    }[outcome]
    if final is not None:
        set_status(transaction, final, method)
        results += notify(transaction)
    if transaction.finish_url:
        query = urlencode(
            {
                "order_id": transaction.order_id,
                "status_code": NOTIFICATION_STATUS_CODES[transaction.transaction_status],
                "transaction_status": transaction.transaction_status,
            }
        )
        separator = "&" if "?" in transaction.finish_url else "?"
        return redirect(f"{transaction.finish_url}{separator}{query}", 303)
    return render_template(
        "simulator/pay.html", transaction=transaction, methods=METHODS, results=results
    )


def _by_token(token: str) -> SimulatedTransaction:
    transaction = db.session.scalar(
        select(SimulatedTransaction).where(SimulatedTransaction.token == token)
    )
    if transaction is None:
        abort(404)
    return transaction
