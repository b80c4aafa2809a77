"""Buyer-facing pages: the stable invoice URL and the page Midtrans sends the buyer back to."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import current_app, redirect, render_template, request
from werkzeug.exceptions import NotFound

from app.errors import NotFoundError
from app.http_headers import protect
from app.purchase import bp
from app.purchase.page import build_callback_page, client_texts
from app.services.checkout.lookup import find_purchase_view, invoice_destination

protect(bp)


@bp.get("/pay/<purchase_id>")
def pay(purchase_id: str):
    destination = invoice_destination(purchase_id)
    if destination is not None:
        return redirect(destination, code=302)
    return redirect("/purchase/callback?" + urlencode({"order_id": purchase_id}), 302)


@bp.get("/purchase/callback")
def callback():
    # Only order_id (our purchase_id, as Midtrans sends it back) is trusted; Midtrans's
    # transaction_status in the query string is not.
    order_id = request.args.get("order_id", "")
    view = find_purchase_view(order_id) if len(order_id) <= 64 else None
    page = build_callback_page(
        view,
        refreshes=request.args.get("r", 0, type=int),
        interval_seconds=current_app.config["CALLBACK_POLL_INTERVAL_SECONDS"],
        limit_seconds=current_app.config["CALLBACK_POLL_LIMIT_SECONDS"],
    )
    texts = client_texts() if page.pending else None
    return render_template("purchase/callback.html", page=page, texts=texts), page.http_status


@bp.errorhandler(NotFoundError)
def no_such_payment(_exc):
    return current_app.handle_http_exception(NotFound())
