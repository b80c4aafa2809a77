"""Buyer-facing pages: the stable invoice URL and the page Midtrans sends the buyer back to."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Response, abort, current_app, redirect, render_template, request
from sqlalchemy import select

from app.extensions import db
from app.models import Payment, PaymentStatus
from app.models.base import utcnow
from app.purchase import bp
from app.purchase.page import build_callback_page, client_texts
from app.services.verify import AmbiguousOrderIdError, find_payment_view

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


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
    page = build_callback_page(
        view,
        refreshes=request.args.get("r", 0, type=int),
        interval_seconds=current_app.config["CALLBACK_POLL_INTERVAL_SECONDS"],
        limit_seconds=current_app.config["CALLBACK_POLL_LIMIT_SECONDS"],
    )
    texts = client_texts() if page.pending else None
    return render_template("purchase/callback.html", page=page, texts=texts), page.http_status


@bp.after_request
def buyer_page_headers(response: Response) -> Response:
    # A payment's status must never come from a cache; the page loads only our own files,
    # and may not be framed (nobody should dress our success page up as theirs).
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "strict-origin-when-cross-origin"
    return response
