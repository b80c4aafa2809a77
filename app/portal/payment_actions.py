"""What merchant staff do to one payment (SPEC §11.7): refund, cancel, mark the order completed.

Each is two POSTs: the first shows what will happen and asks to confirm (nothing changes),
the second, carrying `confirmed`, does it through the same service the merchant API calls.
The result, or the refusal in the API's words, is flashed on the payment page."""

from __future__ import annotations

from dataclasses import dataclass

from flask import flash, redirect, render_template, request
from flask_babel import gettext, ngettext
from flask_login import current_user

from app.errors import ServiceError
from app.formatting import format_rupiah
from app.models import Environment, FulfilmentStatus, Project, RefundStatus
from app.portal import bp
from app.portal.context import env_url, project_page, reason
from app.services.checkout import handover
from app.services.payments.cancel import cancel_payment
from app.services.payments.fulfilment import set_fulfilment
from app.services.payments.read import PaymentScope, find_payment
from app.services.payments.refunds import MAX_REASON, RefundAsked, refund_payment, remaining

MAX_AMOUNT_DIGITS = 15


@dataclass(frozen=True)
class Confirmation:
    title: str
    summary: str
    button: str
    action: str  # the endpoint that does it
    fields: dict[str, str]  # sent again with `confirmed`


def _by(user) -> str:
    return f"portal:{user.email}"


def _back(purchase_id: str):
    return redirect(env_url("portal.payment_detail", purchase_id=purchase_id), 303)


def _confirm(confirmation: Confirmation, purchase_id: str):
    return render_template(
        "portal/payment_confirm.html", confirmation=confirmation, purchase_id=purchase_id
    )


@bp.post("/projects/<project_id>/payments/<purchase_id>/refund")
@project_page
def refund_from_portal(project: Project, env: Environment, purchase_id: str):
    scope = PaymentScope(project.id, env)
    payment = find_payment(scope, purchase_id)
    why = request.form.get("reason", "").strip() or None
    raw_amount = request.form.get("amount", "").strip().replace(".", "")
    if raw_amount and not (raw_amount.isdigit() and len(raw_amount) <= MAX_AMOUNT_DIGITS):
        flash(
            gettext(
                "Refund amount must be a whole number of Rupiah (or empty for all that is left)."
            )
        )
        return _back(purchase_id)
    if why is not None and len(why) > MAX_REASON:
        flash(
            ngettext(
                "The reason can be at most %(num)d character.",
                "The reason can be at most %(num)d characters.",
                MAX_REASON,
            )
        )
        return _back(purchase_id)
    amount = int(raw_amount) if raw_amount else None
    if not request.form.get("confirmed"):
        left = remaining(payment)
        shown = format_rupiah(amount if amount is not None else left)
        summary = [
            gettext(
                "Give %(amount)s back to %(email)s for order %(order_id)s "
                "(%(left)s is left to refund).",
                amount=shown,
                email=payment.buyer_email,
                order_id=payment.order_id,
                left=format_rupiah(left),
            )
        ]
        if why:
            summary.append(gettext("Reason: %(reason)s", reason=why))
        summary.append(
            gettext("Midtrans sends the money back to how the buyer paid; it cannot be undone.")
        )
        return _confirm(
            Confirmation(
                gettext("Refund this payment?"),
                " ".join(summary),
                gettext("Refund %(amount)s", amount=shown),
                "portal.refund_from_portal",
                {"amount": raw_amount, "reason": why or ""},
            ),
            purchase_id,
        )
    try:
        made, _ = refund_payment(
            scope,
            purchase_id,
            RefundAsked(amount=amount, reason=why, requested_by=_by(current_user)),
        )
    except ServiceError as exc:
        flash(gettext("Not refunded: %(reason)s", reason=reason(exc)))
        return _back(purchase_id)
    if made.status == RefundStatus.PENDING:
        flash(
            gettext(
                "Refund %(id)s of %(amount)s was sent; Midtrans has not confirmed it yet. "
                "Lunas keeps asking and shows the outcome here.",
                id=made.id,
                amount=format_rupiah(made.amount),
            )
        )
    else:
        flash(
            gettext(
                "Refunded %(amount)s (refund %(id)s).",
                amount=format_rupiah(made.amount),
                id=made.id,
            )
        )
    return _back(purchase_id)


@bp.post("/projects/<project_id>/payments/<purchase_id>/cancel")
@project_page
def cancel_from_portal(project: Project, env: Environment, purchase_id: str):
    scope = PaymentScope(project.id, env)
    payment = find_payment(scope, purchase_id)
    if not request.form.get("confirmed"):
        return _confirm(
            Confirmation(
                gettext("Cancel this checkout?"),
                gettext(
                    "Order %(order_id)s (%(amount)s) can no longer be paid: Midtrans ends the "
                    "transaction, and the buyer's payment link stops leading to Midtrans. If the "
                    "buyer pays anyway on a page they had open, that payment is still applied.",
                    order_id=payment.order_id,
                    amount=format_rupiah(payment.amount),
                ),
                gettext("Cancel checkout"),
                "portal.cancel_from_portal",
                {},
            ),
            purchase_id,
        )
    try:
        cancel_payment(scope, purchase_id, requested_by=_by(current_user))
    except ServiceError as exc:
        flash(gettext("Not cancelled: %(reason)s", reason=reason(exc)))
    else:
        flash(gettext("Checkout cancelled."))
    return _back(purchase_id)


@bp.post("/projects/<project_id>/payments/<purchase_id>/complete")
@project_page
def complete_from_portal(project: Project, env: Environment, purchase_id: str):
    scope = PaymentScope(project.id, env)
    payment = find_payment(scope, purchase_id)
    if not request.form.get("confirmed"):
        return _confirm(
            Confirmation(
                gettext("Mark this order completed?"),
                gettext(
                    "Order %(order_id)s is recorded as delivered. That is final: it cannot be "
                    "changed back afterwards.",
                    order_id=payment.order_id,
                ),
                gettext("Mark completed"),
                "portal.complete_from_portal",
                {},
            ),
            purchase_id,
        )
    try:
        set_fulfilment(
            scope, purchase_id, FulfilmentStatus.COMPLETED, requested_by=_by(current_user)
        )
    except ServiceError as exc:
        flash(gettext("Not marked completed: %(reason)s", reason=reason(exc)))
    else:
        flash(gettext("Order marked completed."))
    return _back(purchase_id)


@bp.post("/projects/<project_id>/payments/<purchase_id>/delivery-link")
@project_page
def reissue_delivery_link(project: Project, env: Environment, purchase_id: str):
    """A new download link for a buyer whose link expired, was used up or was lost; the old
    one stops working."""
    payment = find_payment(PaymentScope(project.id, env), purchase_id)
    try:
        link = handover.reissue(payment)
    except ServiceError as exc:
        flash(gettext("No new link: %(reason)s", reason=reason(exc)))
    else:
        flash(
            gettext(
                "New download link: %(url)s — send it to %(email)s. The buyer's payment page "
                "shows it too; the old link no longer works.",
                url=handover.link_url(link),
                email=payment.buyer_email,
            )
        )
    return _back(purchase_id)
