"""Webhook endpoint settings (URL, signing secret, test event) and the delivery log."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request
from flask_babel import gettext, lazy_gettext, ngettext

from app.clock import format_wib, parse_wib_datetime
from app.errors import ValidationError
from app.models import DeliveryStatus, Environment, EventType, Project
from app.portal import bp
from app.portal.account import recent_password_required
from app.portal.context import env_url, project_page, reason
from app.portal.forms import ResendFailedForm, WebhookUrlForm
from app.services.outbox import log
from app.services.outbox.circuit import FAILURES_TO_OPEN
from app.services.outbox.endpoints import (
    configure_endpoint,
    endpoint_of,
    parse_event_names,
    previous_secret_until,
    reveal_signing_secrets,
    rotate_secret,
    set_endpoint_url,
    subscribed_events,
)
from app.services.outbox.events import send_test_event
from app.services.outbox.resend import resend_failed_since, resend_in_project
from app.services.outbox.test_event_limit import MAX_PER_WINDOW, TooManyTestEventsError

DELIVERY_REFRESH_SECONDS = 3


@bp.route("/projects/<project_id>/webhooks", methods=["GET", "POST"])
@project_page
def webhooks(project: Project, env: Environment):
    endpoint = endpoint_of(project.id, env)
    form = WebhookUrlForm(data={"url": endpoint.url or ""})
    if form.validate_on_submit():
        try:
            released = set_endpoint_url(project.id, env, form.url.data)
        except ValidationError as exc:
            form.url.errors.append(reason(exc))
        else:
            flash(_saved_message(bool(form.url.data.strip()), len(released)))
            return redirect(env_url("portal.webhooks"), 303)
    return _webhooks_page(project, env, form)


# What each event is, on the webhooks page's checkboxes (SPEC §11.6).
EVENT_DESCRIPTIONS = {
    EventType.ITEM_PURCHASED: lazy_gettext("a payment is settled: the money is in"),
    EventType.PAYMENT_REFUNDED: lazy_gettext("a refund (full or partial) went through"),
    EventType.PAYMENT_REVERSED: lazy_gettext("Midtrans reversed a settled payment"),
    EventType.PAYMENT_EXPIRED: lazy_gettext("a checkout expired unpaid"),
    EventType.PAYMENT_CANCELLED: lazy_gettext("a checkout was cancelled"),
    EventType.REFUND_FAILED: lazy_gettext("Midtrans refused a refund"),
    EventType.ORDER_COMPLETED: lazy_gettext("an order was marked completed"),
    EventType.ORDER_CANCELLED: lazy_gettext("an order was marked cancelled"),
    EventType.TEST: lazy_gettext("test events (Send test event always sends one, chosen or not)"),
}


@bp.post("/projects/<project_id>/webhooks/events")
@project_page
def webhook_events(project: Project, env: Environment):
    try:
        events = parse_event_names(request.form.getlist("events"))
    except ValidationError as exc:
        flash(reason(exc))
    else:
        configure_endpoint(project.id, env, events=events)
        if events:
            flash(gettext("Event types saved."))
        else:
            flash(gettext("Event types saved: no event is sent now."))
    return redirect(env_url("portal.webhooks"), 303)


@bp.post("/projects/<project_id>/webhooks/secret")
@project_page
@recent_password_required(back_to="portal.webhooks")
def reveal_webhook_secret(project: Project, env: Environment):
    # A POST, so the secret is never in a URL, the history or a cache.
    revealed = reveal_signing_secrets(project.id, env)
    return _webhooks_page(project, env, revealed=revealed)


@bp.post("/projects/<project_id>/webhooks/secret/rotate")
@project_page
@recent_password_required(back_to="portal.webhooks")
def rotate_webhook_secret(project: Project, env: Environment):
    rotate_secret(project.id, env)
    revealed = reveal_signing_secrets(project.id, env)
    return _webhooks_page(project, env, revealed=revealed, rotated=True)


@bp.post("/projects/<project_id>/webhooks/test")
@project_page
def send_test_webhook(project: Project, env: Environment):
    try:
        delivery = send_test_event(project.id, env)
    except ValidationError:
        flash(
            gettext(
                "No webhook URL is set for this environment: save one before sending a test event."
            )
        )
        return redirect(env_url("portal.webhooks"), 303)
    except TooManyTestEventsError as exc:
        flash(
            gettext(
                "Too many test events: at most %(limit)s a minute for this environment. "
                "Nothing was sent; try again in %(seconds)s seconds.",
                limit=MAX_PER_WINDOW,
                seconds=exc.retry_after,
            )
        )
        return redirect(env_url("portal.webhooks"), 303)
    flash(
        gettext(
            "Test event %(id)s queued; it is attempted once, and this page shows how it went.",
            id=delivery.id,
        )
    )
    return redirect(env_url("portal.delivery_detail", delivery_id=delivery.id), 303)


@bp.get("/projects/<project_id>/deliveries")
@project_page
def deliveries(project: Project, env: Environment):
    filters = {
        "status": request.args.get("status") or None,
        "event_type": request.args.get("event_type") or None,
    }
    # A page link this list never handed out is a 400 naming it (InvalidCursorError).
    page = log.delivery_page(
        project.id,
        env,
        after=log.KEYSET.read(request.args.get("after"), "after"),
        before=log.KEYSET.read(request.args.get("before"), "before"),
        **filters,
    )
    return render_template(
        "portal/deliveries.html",
        page=page,
        filters=filters,
        statuses=list(DeliveryStatus),
        event_types=list(EventType),
        resend_form=ResendFailedForm(formdata=None),
        circuit=log.circuit_status(project.id, env),
    )


@bp.post("/projects/<project_id>/deliveries/resend-failed")
@project_page
def resend_failed_deliveries(project: Project, env: Environment):
    form = ResendFailedForm()
    since = parse_wib_datetime(form.since.data) if form.validate_on_submit() else None
    if since is None:
        flash(
            gettext(
                "Enter the time to resend from, e.g. 2026-11-22 08:00 (WIB); nothing was resent."
            )
        )
        return redirect(env_url("portal.deliveries", status="failed"), 303)
    count = resend_failed_since(project.id, env, since)
    flash(
        ngettext(
            "%(num)d failed delivery created since %(since)s queued to be sent again.",
            "%(num)d failed deliveries created since %(since)s queued to be sent again.",
            count,
            since=format_wib(since),
        )
    )
    return redirect(env_url("portal.deliveries"), 303)


@bp.get("/projects/<project_id>/deliveries/<delivery_id>")
@project_page
def delivery_detail(project: Project, env: Environment, delivery_id: str):
    detail = log.delivery_detail(project.id, env, delivery_id)
    delivery = detail.delivery
    # Being sent (or about to be, the first time): the page refreshes until the answer is in.
    sending = delivery.status == DeliveryStatus.DELIVERING or (
        delivery.status == DeliveryStatus.PENDING and delivery.attempt_count == 0
    )
    return render_template(
        "portal/delivery.html",
        detail=detail,
        circuit=log.circuit_status(project.id, env),
        sending=sending,
        refresh_seconds=DELIVERY_REFRESH_SECONDS,
    )


@bp.post("/projects/<project_id>/deliveries/<delivery_id>/resend")
@project_page
def resend_delivery(project: Project, env: Environment, delivery_id: str):
    try:
        delivery = resend_in_project(project.id, env, delivery_id)
    except ValidationError:
        flash(gettext("This event is being delivered right now; resend it once this attempt ends."))
    else:
        if delivery.status == DeliveryStatus.PENDING:
            flash(gettext("Event queued to be sent again, with the same webhook-id and body."))
        else:
            flash(gettext("No webhook URL is set: the event waits and goes out once you save one."))
    return redirect(env_url("portal.delivery_detail", delivery_id=delivery_id), 303)


def _webhooks_page(project, env, form=None, revealed=None, rotated=False):
    endpoint = endpoint_of(project.id, env)
    return render_template(
        "portal/webhooks.html",
        endpoint=endpoint,
        subscribed=subscribed_events(endpoint),
        event_descriptions=EVENT_DESCRIPTIONS,
        form=form or WebhookUrlForm(formdata=None, data={"url": endpoint.url or ""}),
        revealed=revealed,
        rotated=rotated,
        previous_until=previous_secret_until(endpoint),
        waiting=log.waiting_count(project.id, env),
        circuit=log.circuit_status(project.id, env),
        grace_hours=current_app.config["CREDENTIAL_GRACE_HOURS"],
        max_in_flight=current_app.config["WEBHOOK_MAX_IN_FLIGHT_PER_ENDPOINT"],
        failures_to_open=FAILURES_TO_OPEN,
        test_events_per_minute=MAX_PER_WINDOW,
    )


def _saved_message(has_url: bool, released: int) -> str:
    if not has_url:
        return gettext("Webhook URL removed: new events wait until you set one.")
    if released:
        return gettext(
            "Webhook URL saved; %(count)d waiting event(s) are being sent now.", count=released
        )
    return gettext("Webhook URL saved.")
