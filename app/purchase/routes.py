"""Buyer-facing pages: the stable invoice URL and the page Midtrans sends the buyer back to."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import current_app, redirect, render_template, request

from app.errors import NotFoundError
from app.http_headers import protect
from app.models import PaymentStatus
from app.purchase import bp
from app.purchase.page import CallbackPage, build_callback_page, client_texts
from app.services.checkout import handover
from app.services.checkout.lookup import PaymentView, find_purchase_view, invoice_destination

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
    return _render(_page(view, refreshes=request.args.get("r", 0, type=int)))


@bp.errorhandler(NotFoundError)
def no_such_payment(_exc):
    # An invoice link to no payment: the buyer's own "Pesanan tidak ditemukan" (404), in
    # Bahasa Indonesia like every page of theirs.
    return buyer_not_found()


BUYER_PATHS = ("/pay", "/purchase")


def is_buyer_path(path: str) -> bool:
    """A URL a buyer may hold (a cut-off invoice link, a mangled return): their pages answer
    it, never the merchant portal's English 404."""
    return any(path == prefix or path.startswith(prefix + "/") for prefix in BUYER_PATHS)


def buyer_not_found():
    """ "Pesanan tidak ditemukan" with status 404, the buyer's own page (never cached, also
    when the app's 404 handler answers for a path no buyer route matched)."""
    body, status = _render(_page(None, refreshes=0))
    return body, status, {"Cache-Control": "no-store"}


def _page(view: PaymentView | None, refreshes: int) -> CallbackPage:
    status = view.status if view else None
    return build_callback_page(
        view,
        refreshes=refreshes,
        interval_seconds=current_app.config["CALLBACK_POLL_INTERVAL_SECONDS"],
        limit_seconds=current_app.config["CALLBACK_POLL_LIMIT_SECONDS"],
        delivery=handover.buyer_delivery(view.purchase_id)
        if status == PaymentStatus.SETTLEMENT
        else None,
        delivery_due=status == PaymentStatus.PENDING and handover.delivery_due(view.purchase_id),
    )


def _render(page: CallbackPage):
    texts = client_texts() if page.pending else None
    return render_template("purchase/callback.html", page=page, texts=texts), page.http_status
