"""Buyer-facing pages: the stable invoice URL and the page Midtrans sends the buyer back to."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import abort, redirect, render_template, request
from sqlalchemy import select

from app.extensions import db
from app.models import Payment, PaymentStatus
from app.models.base import utcnow
from app.purchase import bp
from app.services.verify import AmbiguousOrderIdError, find_payment_view


@bp.get("/pay/<purchase_id>")
def pay(purchase_id: str):
    payment = db.session.scalar(
        select(Payment).where(
            Payment.purchase_id == purchase_id, Payment.status != PaymentStatus.CREATING
        )
    )
    if payment is None:
        abort(404)
    if (
        payment.status == PaymentStatus.PENDING
        and payment.snap_redirect_url
        and payment.expires_at > utcnow()
    ):
        return redirect(payment.snap_redirect_url, code=302)
    return redirect("/purchase/callback?" + urlencode({"order_id": payment.purchase_id}), 302)


@bp.get("/purchase/callback")
def callback():
    # Only order_id is trusted; Midtrans's transaction_status in the query string is not.
    order_id = request.args.get("order_id", "")
    try:
        view = find_payment_view(order_id) if 0 < len(order_id) <= 64 else None
    except AmbiguousOrderIdError:
        view = None  # Midtrans sends our purchase_id; a bare merchant id may not be unique
    status = 200 if view is not None else 404
    return render_template("purchase/callback.html", payment=view), status
