"""Operator commands (README, "Commands"). Each one calls a service and prints JSON."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import NoReturn

import click
from flask import Flask
from flask.cli import AppGroup, with_appcontext

from app.config import MAX_WORKER_THREADS
from app.errors import ServiceError
from app.models import Environment
from app.models.base import iso_utc
from app.services.accounts import invitations, operators
from app.services.accounts.operators import promote
from app.services.accounts.projects import create_project
from app.services.accounts.users import create_user, find_user_by_email
from app.services.checkout.janitor import expire_stale_checkouts
from app.services.checkout.reconcile import reconcile
from app.services.operations.doctor import Verdict, run_checks
from app.services.outbox.endpoints import rotate_secret, set_endpoint_url
from app.services.outbox.log import list_deliveries
from app.services.outbox.resend import resend
from app.services.payments import read
from app.services.payments.cancel import cancel_payment
from app.services.payments.refunds import RefundAsked, refund_payment
from app.services.reporting.overview import recount_overview
from app.services.reporting.seed import seed_payments
from app.simulator.service import send_manual_notification
from app.worker import run_worker

users_cli = AppGroup("users", help="Portal users.")
projects_cli = AppGroup("projects", help="Merchant projects and their keys.")
payments_cli = AppGroup("payments", help="Payments.")
midtrans_cli = AppGroup("midtrans", help="Midtrans tools for development.")
webhooks_cli = AppGroup("webhooks", help="Outbound merchant webhooks.")
invitations_cli = AppGroup("invitations", help="Sign-up invitations (REGISTRATION=invite).")

ENVIRONMENT_CHOICE = click.Choice(["sandbox", "production", "both"])


def _echo(document: dict) -> None:
    click.echo(json.dumps(document, indent=2))


@users_cli.command("create")
@click.option("--email", required=True)
@click.option("--password", required=True)
@click.option("--operator", is_flag=True, help="Also an operator: sees /admin.")
def create_user_command(email: str, password: str, operator: bool) -> None:
    """Create a portal user."""
    try:
        user = create_user(email, password, verified=True)
        if operator:
            user = promote(user.email)
    except ServiceError as exc:
        raise click.ClickException(exc.message) from None
    document = {"id": user.id, "email": user.email}
    if operator:
        document["is_operator"] = user.is_operator
    _echo({"user": document})


@users_cli.command("promote")
@click.option("--email", required=True)
def promote_user_command(email: str) -> None:
    """Make an existing user an operator (sees /admin)."""
    try:
        user = promote(email)
    except ServiceError as exc:
        raise click.ClickException(exc.message) from None
    _echo({"user": {"id": user.id, "email": user.email, "is_operator": user.is_operator}})


@projects_cli.command("create")
@click.option("--owner", required=True, help="Email of an existing user.")
@click.option("--name", required=True)
@click.option("--webhook-url", default=None, help="Sets both environments.")
@click.option("--store-url-template", default=None, help="e.g. https://shop.example/{store_slug}")
def create_project_command(
    owner: str, name: str, webhook_url: str | None, store_url_template: str | None
) -> None:
    """Create a project with sandbox and production keys (secrets are shown only now)."""
    user = find_user_by_email(owner)
    if user is None:
        raise click.ClickException(f"no user with email {owner!r}")
    try:
        # The operator made it: production is approved at once.
        created = create_project(user, name, store_url_template, webhook_url, approved=True)
    except ServiceError as exc:
        raise click.ClickException(exc.message) from None
    document: dict = {"project": {"id": created.project.id, "name": created.project.name}}
    for environment, keys in created.keys.items():
        document[str(environment)] = {
            "client_id": keys.client_id,
            "client_secret": keys.client_secret,
            "webhook_url": keys.webhook_url,
            "webhook_secret": keys.webhook_secret,
        }
    _echo(document)


def _project_standing(project) -> dict:
    return {
        "project": {
            "id": project.id,
            "name": project.name,
            "production_approved_at": iso_utc(project.production_approved_at),
            "suspended_at": iso_utc(project.suspended_at),
        }
    }


@projects_cli.command("approve")
@click.argument("project_id")
def approve_project_command(project_id: str) -> None:
    """Allow the project's production (its owner may then create production keys)."""
    _echo(_project_standing(_operator_call(operators.approve_production, project_id, None)))


@projects_cli.command("suspend")
@click.argument("project_id")
@click.option("--reason", default=None, help="Shown to the operators, kept with the action.")
def suspend_project_command(project_id: str, reason: str | None) -> None:
    """No new checkout for the project; payments already made still settle and notify."""
    _echo(_project_standing(_operator_call(operators.suspend, project_id, None, reason)))


@projects_cli.command("resume")
@click.argument("project_id")
def resume_project_command(project_id: str) -> None:
    """End a suspension."""
    _echo(_project_standing(_operator_call(operators.resume, project_id, None)))


@invitations_cli.command("create")
@click.option("--email", default=None, help="Only this address may sign up with the link.")
def create_invitation_command(email: str | None) -> None:
    """A single-use sign-up link, valid 7 days (printed once)."""
    issued = _operator_call(invitations.create_invitation, None, email)
    _echo({"url": issued.url, "expires_at": iso_utc(issued.invitation.expires_at)})


def _operator_call(action, *args):
    try:
        return action(*args)
    except ServiceError as exc:
        raise click.ClickException(exc.message) from None


@payments_cli.command("expire-stale")
def expire_stale_command() -> None:
    """Ask Midtrans about payments still pending 15 minutes after they expired."""
    report = expire_stale_checkouts()
    _echo(
        {
            "checked": report.checked,
            "outcomes": report.outcomes,
            "errors": report.errors,
            "abandoned_removed": report.abandoned_removed,
        }
    )


@payments_cli.command("refund")
@click.argument("purchase_id")
@click.option("--amount", type=click.IntRange(min=1), help="Rupiah; default: all that is left.")
@click.option("--reason", help="Told to Midtrans and shown to the merchant (≤ 255 characters).")
def refund_command(purchase_id: str, amount: int | None, reason: str | None) -> None:
    """Refund (part of) a paid payment, as the merchant API would. Prints the refund."""
    try:
        scope = read.scope_of(purchase_id)
        refund, _ = refund_payment(
            scope, purchase_id, RefundAsked(amount=amount, reason=reason, requested_by="cli")
        )
    except ServiceError as exc:
        _fail(exc)
    _echo(read.refund_object(refund, purchase_id))


@payments_cli.command("cancel")
@click.argument("purchase_id")
def cancel_command(purchase_id: str) -> None:
    """Cancel a pending checkout, at Midtrans first. Prints the payment."""
    try:
        payment = cancel_payment(read.scope_of(purchase_id), purchase_id, requested_by="cli")
    except ServiceError as exc:
        _fail(exc)
    _echo(read.describe(payment))


def _fail(exc: ServiceError) -> NoReturn:
    """The API's error envelope on stdout, and exit status 1."""
    _echo({"error": {"code": exc.code, "message": exc.message, "field": exc.field}})
    raise SystemExit(1)


@payments_cli.command("seed")
@click.option("--project", "project_id", required=True)
@click.option(
    "--env", "environment", type=click.Choice(["sandbox", "production"]), default="sandbox"
)
@click.option("--count", default=1000, show_default=True, help="Payments to insert.")
@click.option("--days", default=365, show_default=True, help="Spread back from now over N days.")
@click.option("--allow-production", is_flag=True, help="Needed to seed the production environment.")
def seed_payments_command(
    project_id: str, environment: str, count: int, days: int, allow_production: bool
) -> None:
    """Insert fake payments (benchmarks, development). Fast on PostgreSQL; slow on SQLite."""
    if environment == "production" and not allow_production:
        # Fake paid payments in a live dashboard (and in verify answers) would lie to a
        # merchant about real money.
        raise click.ClickException("seeding production needs --allow-production")

    def progress(done: int) -> None:
        click.echo(f"{done}/{count}", err=True)

    try:
        report = seed_payments(project_id, Environment(environment), count, days, progress)
    except ServiceError as exc:
        raise click.ClickException(exc.message) from None
    _echo(
        {
            "project_id": report.project_id,
            "environment": report.environment,
            "inserted": report.inserted,
            "days": report.days,
            "seconds": round(report.seconds, 1),
        }
    )


@payments_cli.command("recount-days")
@click.option("--project", "project_id", required=True)
@click.option("--env", "environment", type=ENVIRONMENT_CHOICE, default="both", show_default=True)
def recount_days_command(project_id: str, environment: str) -> None:
    """Count the overview's stored days again (after payments were changed outside Lunas,
    e.g. by hand in SQL or by a restore)."""
    recounted = []
    for env in _environments(environment):
        try:
            recount_overview(project_id, env)
        except ServiceError as exc:
            raise click.ClickException(exc.message) from None
        recounted.append(str(env))
    _echo({"project_id": project_id, "recounted": recounted})


@midtrans_cli.command("notify")
@click.argument("payment_ref")
@click.argument("transaction_status")
@click.option("--payment-type", default="bank_transfer", show_default=True)
@click.option("--gross-amount", default=None, help="Default: the payment's amount.")
def notify_command(
    payment_ref: str, transaction_status: str, payment_type: str, gross_amount: str | None
) -> None:
    """Send one signed notification for a payment, as Midtrans would."""
    try:
        result = send_manual_notification(
            payment_ref, transaction_status, payment_type, gross_amount
        )
    except ServiceError as exc:
        raise click.ClickException(exc.message) from None
    _echo(result)


@webhooks_cli.command("list")
@click.option(
    "--status",
    type=click.Choice(["waiting_for_endpoint", "pending", "delivering", "delivered", "failed"]),
)
@click.option("--limit", default=50, show_default=True)
def list_webhooks_command(status: str | None, limit: int) -> None:
    """The newest webhook events, with their delivery state."""
    _echo(
        {
            "events": [
                {
                    "event_id": delivery.id,
                    "event": delivery.event_type,
                    "project_id": delivery.project_id,
                    "environment": delivery.environment,
                    "status": delivery.status,
                    "attempts": delivery.attempt_count,
                    "next_attempt_at": iso_utc(delivery.next_attempt_at),
                    "last_error": delivery.last_error,
                    "created_at": iso_utc(delivery.created_at),
                }
                for delivery in list_deliveries(status, limit)
            ]
        }
    )


@webhooks_cli.command("resend")
@click.argument("event_id")
def resend_webhook_command(event_id: str) -> None:
    """Send one event again, with a fresh retry schedule (same webhook-id and body)."""
    try:
        delivery = resend(event_id)
    except ServiceError as exc:
        raise click.ClickException(exc.message) from None
    _echo({"event_id": delivery.id, "status": delivery.status})


@webhooks_cli.command("set-url")
@click.option("--project", "project_id", required=True)
@click.option("--env", "environment", type=ENVIRONMENT_CHOICE, default="both", show_default=True)
@click.argument("url")
def set_webhook_url_command(project_id: str, environment: str, url: str) -> None:
    """Set (or with "" clear) a project's webhook URL; waiting events are then sent."""
    released = {}
    try:
        for env in _environments(environment):
            released[str(env)] = len(set_endpoint_url(project_id, env, url))
    except ServiceError as exc:
        raise click.ClickException(exc.message) from None
    _echo({"project_id": project_id, "webhook_url": url or None, "released": released})


@webhooks_cli.command("rotate-secret")
@click.option("--project", "project_id", required=True)
@click.option("--env", "environment", type=ENVIRONMENT_CHOICE, default="both", show_default=True)
def rotate_webhook_secret_command(project_id: str, environment: str) -> None:
    """A new signing secret; the old one also signs for 24 hours. Shown once."""
    secrets = {}
    try:
        for env in _environments(environment):
            secrets[str(env)] = rotate_secret(project_id, env)
    except ServiceError as exc:
        raise click.ClickException(exc.message) from None
    _echo({"project_id": project_id, "webhook_secret": secrets})


def _environments(choice: str):
    return list(Environment) if choice == "both" else [Environment(choice)]


@click.command("worker")
@click.option("--burst", is_flag=True, help="Work until the queues are empty, then stop.")
@click.option(
    "--worker-class",
    type=click.Choice(["simple", "fork"]),
    default="simple",
    show_default=True,
    help="simple: jobs run in this process; fork: one forked child per job.",
)
@click.option(
    "--threads",
    type=click.IntRange(1, MAX_WORKER_THREADS),
    default=None,
    help="RQ workers in this process (simple class only). [default: WEBHOOK_WORKER_THREADS]",
)
def worker_command(burst: bool, worker_class: str, threads: int | None) -> None:
    """The RQ worker, plus maintenance: the webhook sweeper and the pending janitor."""
    run_worker(burst=burst, worker_class=worker_class, threads=threads)


@click.command("reconcile")
@click.option(
    "--all-due-now",
    is_flag=True,
    help="Ask about every pending payment and every settlement awaiting its check, due or not.",
)
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=None,
    help="Payments to ask about at most. [default: RECONCILE_CALLS_PER_MINUTE]",
)
@with_appcontext
def reconcile_command(all_due_now: bool, limit: int | None) -> None:
    """One reconciler pass now: Get Status for the due payments (spaced as the worker spaces
    them, RECONCILE_CALLS_PER_MINUTE), differences applied; prints what it found."""
    report = reconcile(limit=limit, all_due_now=all_due_now)
    _echo(
        {
            "checked": report.checked,
            "corrected": report.corrected,
            "failed": report.failed,
            "stopped_early": report.stopped_early,
            "corrections": [asdict(correction) for correction in report.corrections],
        }
    )


@click.command("doctor")
@with_appcontext
def doctor_command() -> None:
    """Check this deployment: settings, keys, database, migrations, Redis, a worker, the
    Midtrans keys, the notification URL, SMTP. Exits 1 on any problem."""
    checks = run_checks()
    for check in checks:
        click.echo(f"{check.verdict:<8} {check.name:<20} {check.message}")
    problems = sum(check.verdict is Verdict.PROBLEM for check in checks)
    warnings = sum(check.verdict is Verdict.WARN for check in checks)
    click.echo(f"{problems} problem(s), {warnings} warning(s)")
    if problems:
        raise click.exceptions.Exit(1)


def register_cli(app: Flask) -> None:
    groups = (users_cli, projects_cli, payments_cli, midtrans_cli, webhooks_cli, invitations_cli)
    for group in groups:
        app.cli.add_command(group)
    app.cli.add_command(worker_command)
    app.cli.add_command(doctor_command)
    app.cli.add_command(reconcile_command)
