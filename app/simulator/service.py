"""Simulator state changes and the notifications it sends, signed as Midtrans signs them."""

from __future__ import annotations

import logging
import re
import threading
import time
import uuid
from typing import Any

import requests
from flask import Flask, current_app
from sqlalchemy import or_, select

from app.errors import NotFoundError, ServiceError, ValidationError
from app.extensions import db
from app.midtrans.client import MidtransUnavailableError, settings_for
from app.midtrans.payment_types import REFUNDABLE_PAYMENT_TYPES
from app.midtrans.signature import compute_signature
from app.midtrans.status import NOTIFICATION_STATUS_CODES
from app.midtrans.timefmt import format_midtrans_time
from app.models import ORDER_ID_PATTERN, Environment, Payment, SimulatedTransaction
from app.models.base import utcnow

log = logging.getLogger(__name__)

MERCHANT_ID = "G000LUNASSIM"
ORDER_ID_RE = re.compile(ORDER_ID_PATTERN)
NOTIFICATION_TIMEOUT = 10
MAX_NOTIFICATION_URLS = 3

# status_code Midtrans puts in notifications, and (where it differs) in Get Status answers.
STATUS_CODES = {**NOTIFICATION_STATUS_CODES, "cancel": "200", "expire": "407"}


class SnapRequestError(ServiceError):
    """A Snap create request Midtrans would refuse with 400."""


def simulator_server_key() -> str:
    return settings_for(Environment.SANDBOX).server_key


def create_transaction(body: Any, notification_urls: list[str]) -> SimulatedTransaction:
    order_id, gross_amount = _validate_snap_body(body)
    transaction = db.session.get(SimulatedTransaction, order_id)
    if transaction is not None and transaction.transaction_status is not None:
        raise SnapRequestError(
            "transaction_details.order_id has been paid and utilized, please use another order ID"
        )
    if transaction is None:
        transaction = SimulatedTransaction(order_id=order_id)
        db.session.add(transaction)
    # Until a payment method is chosen Midtrans allows a new token for the same order_id.
    transaction.token = str(uuid.uuid4())
    transaction.server_key = simulator_server_key()
    transaction.gross_amount = gross_amount
    transaction.notification_urls = notification_urls[:MAX_NOTIFICATION_URLS]
    callbacks = body.get("callbacks") if isinstance(body.get("callbacks"), dict) else {}
    finish = callbacks.get("finish")
    transaction.finish_url = finish if isinstance(finish, str) else None
    transaction.request = body
    db.session.commit()
    return transaction


def _validate_snap_body(body: Any) -> tuple[str, int]:
    if not isinstance(body, dict):
        raise SnapRequestError("transaction_details is required")
    details = body.get("transaction_details")
    if not isinstance(details, dict) or "order_id" not in details:
        raise SnapRequestError("transaction_details.order_id is required")
    order_id = details["order_id"]
    if not isinstance(order_id, str) or not ORDER_ID_RE.match(order_id):
        raise SnapRequestError(
            "transaction_details.order_id must be at most 50 characters of letters, digits, "
            "dash, underscore, tilde and dot"
        )
    gross_amount = details.get("gross_amount")
    if isinstance(gross_amount, bool) or not isinstance(gross_amount, int) or gross_amount < 1:
        raise SnapRequestError("transaction_details.gross_amount must be a positive integer")
    items = body.get("item_details")
    if items is not None:
        try:
            total = sum(item["price"] * item["quantity"] for item in items)
            names_ok = all(isinstance(item["name"], str) and item["name"] for item in items)
        except (TypeError, KeyError):
            raise SnapRequestError("item_details must have price, quantity and name") from None
        if not names_ok or any(len(item["name"]) > 50 for item in items):
            raise SnapRequestError("item_details.name is required, at most 50 characters")
        if total != gross_amount:
            raise SnapRequestError(
                "transaction_details.gross_amount is not equal to the sum of item_details"
            )
    return order_id, gross_amount


def find_transaction(reference: str) -> SimulatedTransaction | None:
    return db.session.scalar(
        select(SimulatedTransaction).where(
            or_(
                SimulatedTransaction.order_id == reference,
                SimulatedTransaction.transaction_id == reference,
            )
        )
    )


def set_status(
    transaction: SimulatedTransaction, transaction_status: str, payment_type: str
) -> None:
    now = utcnow()
    if transaction.transaction_id is None:
        transaction.transaction_id = str(uuid.uuid4())
        transaction.transaction_time = now
    transaction.payment_type = transaction.payment_type or payment_type
    transaction.transaction_status = transaction_status
    transaction.fraud_status = "accept"
    if transaction_status in ("settlement", "capture") and transaction.settlement_time is None:
        transaction.settlement_time = now
    db.session.commit()


def transaction_body(transaction: SimulatedTransaction, status_code: str) -> dict[str, Any]:
    gross_amount = f"{transaction.gross_amount}.00"
    body = {
        "transaction_time": format_midtrans_time(transaction.transaction_time or utcnow()),
        "transaction_status": transaction.transaction_status,
        "transaction_id": transaction.transaction_id,
        "status_code": status_code,
        "signature_key": compute_signature(
            transaction.order_id, status_code, gross_amount, transaction.server_key
        ),
        "payment_type": transaction.payment_type,
        "order_id": transaction.order_id,
        "merchant_id": MERCHANT_ID,
        "gross_amount": gross_amount,
        "fraud_status": transaction.fraud_status,
        "currency": "IDR",
    }
    if transaction.settlement_time is not None:
        body["settlement_time"] = format_midtrans_time(transaction.settlement_time)
    if transaction.refunds:
        body["refund_amount"] = f"{_refunded(transaction)}.00"
        body["refunds"] = list(transaction.refunds)
    return body


def status_response(transaction: SimulatedTransaction) -> dict[str, Any]:
    body = transaction_body(transaction, STATUS_CODES.get(transaction.transaction_status, "200"))
    body["status_message"] = "Success, transaction is found"
    return body


def notify(transaction: SimulatedTransaction, gross_amount: str | None = None) -> list[dict]:
    """POST one notification for the transaction's current status to every notification URL."""
    status_code = NOTIFICATION_STATUS_CODES.get(transaction.transaction_status, "200")
    body = transaction_body(transaction, status_code)
    body["status_message"] = "midtrans payment notification"
    if gross_amount is not None:
        body["gross_amount"] = gross_amount
        body["signature_key"] = compute_signature(
            transaction.order_id, status_code, gross_amount, transaction.server_key
        )
    urls = transaction.notification_urls or [default_notification_url()]
    order_id = transaction.order_id
    db.session.commit()  # the receiver writes to this database: hold no transaction open
    results = []
    for url in urls:
        try:
            response = requests.post(
                url,
                json=body,
                headers={"User-Agent": "Veritrans", "Accept": "application/json"},
                timeout=NOTIFICATION_TIMEOUT,
                allow_redirects=False,
            )
            results.append(
                {"url": url, "status": response.status_code, "body": response.text[:500]}
            )
        except requests.RequestException as exc:
            results.append({"url": url, "status": None, "error": type(exc).__name__})
    log.info("simulator notified %s (%s): %s", order_id, status_code, results)
    return results


# -- refund, cancel and expire (midtrans.md, "Refunds, cancel and expire") ------------------

# What a pending (or authorized card) transaction can be ended by, and from which statuses.
ENDABLE = ("pending", "authorize", "capture")
REFUNDABLE_STATUSES = ("settlement", "partial_refund")
# Midtrans notifies a little after it answered; the receiver may be the very process waiting
# for the answer, so the simulator never notifies from inside the request.
NOTIFY_AFTER_SECONDS = 0.5
REFUND_KEY_RE = re.compile(r"[A-Za-z0-9_-]{1,100}")


def not_found_answer() -> dict[str, Any]:
    return {
        "status_code": "404",
        "status_message": "Transaction doesn't exist.",
        "id": str(uuid.uuid4()),
    }


def _refusal(code: str, message: str) -> dict[str, Any]:
    return {"status_code": code, "status_message": message, "id": str(uuid.uuid4())}


def end_transaction(transaction: SimulatedTransaction, action: str) -> tuple[dict, bool]:
    """POST /v2/{id}/cancel or /expire: (Midtrans's answer, whether a notification follows)."""
    current = transaction.transaction_status
    if current not in ENDABLE or (current != "pending" and action == "expire"):
        return _refusal("412", "Merchant cannot modify the status of the transaction"), False
    set_status(transaction, action, transaction.payment_type or "bank_transfer")
    body = transaction_body(transaction, STATUS_CODES[action])
    done = "has expired" if action == "expire" else "is canceled"
    body["status_message"] = f"Success, transaction {done}"
    return body, True


def refund_transaction(transaction: SimulatedTransaction, request: Any) -> tuple[dict, bool]:
    """POST /v2/{id}/refund (or /refund/online/direct): Midtrans's answer, and whether a
    notification follows. The same refund_key again is the same refund, never a second."""
    if not isinstance(request, dict):
        return _refusal("400", "Invalid JSON body"), False
    key = request.get("refund_key")
    if key is not None and not (isinstance(key, str) and REFUND_KEY_RE.fullmatch(key)):
        return _refusal("400", "refund_key must be letters, digits, - and _"), False
    for made in transaction.refunds or []:
        if key is not None and made["refund_key"] == key:
            return _refund_answer(transaction, made), False
    if transaction.payment_type not in REFUNDABLE_PAYMENT_TYPES:
        return _refusal(
            "412", f"Payment type {transaction.payment_type} does not support refund by API"
        ), False
    if transaction.transaction_status not in REFUNDABLE_STATUSES:
        return _refusal("412", "Merchant cannot modify the status of the transaction"), False
    remaining = transaction.gross_amount - _refunded(transaction)
    amount = request.get("amount", remaining)
    if isinstance(amount, bool) or not isinstance(amount, int) or amount < 1:
        return _refusal("400", "amount must be a positive integer"), False
    if amount > remaining:
        return _refusal("414", "Refund amount is greater than the remaining amount"), False
    reason = request.get("reason")
    made = {
        "refund_chargeback_id": len(transaction.refunds or []) + 1,
        "refund_amount": f"{amount}.00",
        "created_at": format_midtrans_time(utcnow()),
        "reason": reason if isinstance(reason, str) else "",
        "refund_key": key or str(uuid.uuid4()),
    }
    # A new list, so the JSON column sees the change.
    transaction.refunds = [*(transaction.refunds or []), made]
    full = _refunded(transaction) == transaction.gross_amount
    set_status(transaction, "refund" if full else "partial_refund", transaction.payment_type)
    return _refund_answer(transaction, made), True


def _refund_answer(transaction: SimulatedTransaction, made: dict[str, Any]) -> dict[str, Any]:
    body = transaction_body(transaction, "200")
    body.pop("refunds", None)
    body.update(
        status_message="Success, refund request is approved",
        refund_chargeback_id=made["refund_chargeback_id"],
        refund_key=made["refund_key"],
        refund_amount=made["refund_amount"],
    )
    return body


def _refunded(transaction: SimulatedTransaction) -> int:
    return sum(int(float(made["refund_amount"])) for made in transaction.refunds or [])


def notify_soon(order_id: str) -> None:
    """Send the transaction's notification from a thread of its own, shortly."""
    app: Flask = current_app._get_current_object()

    def send() -> None:
        time.sleep(NOTIFY_AFTER_SECONDS)
        with app.app_context():
            transaction = db.session.get(SimulatedTransaction, order_id)
            if transaction is not None:
                notify(transaction)

    threading.Thread(target=send, name=f"simulator-notify-{order_id}", daemon=True).start()


def default_notification_url() -> str:
    return f"{current_app.config['PUBLIC_BASE_URL']}/api/midtrans/notification"


def send_manual_notification(
    payment_ref: str, transaction_status: str, payment_type: str, gross_amount: str | None
) -> dict[str, Any]:
    """`flask midtrans notify`: move the simulated transaction and send its notification.
    Never in production: it signs with the live server key, so it could settle real orders."""
    if current_app.config["LUNAS_ENV"] == "production":
        raise ValidationError("flask midtrans notify does not run when LUNAS_ENV=production")
    if transaction_status not in NOTIFICATION_STATUS_CODES:
        raise ValidationError(
            f"transaction_status must be one of {', '.join(sorted(NOTIFICATION_STATUS_CODES))}"
        )
    payment = _find_payment(payment_ref)
    try:
        server_key = settings_for(payment.environment).server_key
    except MidtransUnavailableError as exc:
        raise ValidationError(str(exc)) from None
    transaction = db.session.get(SimulatedTransaction, payment.purchase_id)
    if transaction is None:
        transaction = SimulatedTransaction(
            order_id=payment.purchase_id,
            token=str(uuid.uuid4()),
            gross_amount=payment.amount,
            notification_urls=[],
        )
        db.session.add(transaction)
    transaction.server_key = server_key
    set_status(transaction, transaction_status, payment_type)
    results = notify(transaction, gross_amount)
    return {
        "purchase_id": payment.purchase_id,
        "transaction_status": transaction_status,
        "deliveries": results,
    }


def _find_payment(reference: str) -> Payment:
    matches = list(
        db.session.scalars(
            select(Payment)
            .where(or_(Payment.purchase_id == reference, Payment.order_id == reference))
            .limit(3)
        )
    )
    exact = [payment for payment in matches if payment.purchase_id == reference]
    if exact:
        return exact[0]
    if not matches:
        raise NotFoundError(f"no payment with purchase_id or order_id {reference!r}")
    if len(matches) > 1:
        raise ValidationError(
            f"order_id {reference!r} is used by several projects: use the purchase_id"
        )
    return matches[0]
