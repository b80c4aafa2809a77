"""Helpers for the notification and outbound-webhook tests: take a payment through Midtrans
notifications, point a project's webhooks somewhere, run one delivery attempt, let the time of a
retry or of a secret's grace come (on Python's clock, which Lunas reads), and read what Lunas
recorded."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from sqlalchemy import update

from app.extensions import db
from app.models import Environment, WebhookAttempt, WebhookDelivery
from app.models.base import utcnow
from app.services.outbox.delivery import deliver
from app.services.outbox.endpoints import endpoint_for, set_endpoint_url, signing_secrets
from tests.conftest import SERVER_KEY
from tests.fakes import FakeMidtrans
from tests.helpers import (
    NOTIFY_URL,
    TRANSACTION_ID,
    ProjectKeys,
    create_payment,
    notification,
    table_rows,
)

SANDBOX = Environment.SANDBOX


# -- Midtrans notifies -------------------------------------------------------------------------


def post_notification(client, body: dict[str, Any] | str | bytes):
    """POST a notification as Midtrans sends it: a body (dict) or the raw bytes of one."""
    return client.post(
        NOTIFY_URL,
        data=json.dumps(body) if isinstance(body, dict) else body,
        content_type="application/json",
        headers={"User-Agent": "Veritrans", "Accept": "application/json"},
    )


def midtrans_reports(
    fake: FakeMidtrans,
    purchase_id: str,
    transaction_status: str,
    gross_amount: str = "75000.00",
    **extra: Any,
) -> dict[str, Any]:
    """Midtrans moves the transaction (Get Status agrees): the signed notification it sends."""
    fake.set_status(
        purchase_id, transaction_status, gross_amount, transaction_id=TRANSACTION_ID, **extra
    )
    return notification(
        purchase_id,
        transaction_status,
        SERVER_KEY,
        gross_amount=gross_amount,
        transaction_id=TRANSACTION_ID,
        **extra,
    )


def midtrans_moves(
    client,
    fake: FakeMidtrans,
    purchase_id: str,
    transaction_status: str,
    gross_amount: str = "75000.00",
    **extra: Any,
):
    """Midtrans moves the transaction (Get Status agrees) and sends its signed notification."""
    body = midtrans_reports(fake, purchase_id, transaction_status, gross_amount, **extra)
    return post_notification(client, body)


def settle(client, fake: FakeMidtrans, purchase_id: str, **extra: Any) -> None:
    response = midtrans_moves(client, fake, purchase_id, "settlement", **extra)
    assert response.status_code == 200, response.get_json()


# -- webhooks ----------------------------------------------------------------------------------


def point_webhooks_at(
    app, project: ProjectKeys, url: str | None, environment: Environment = SANDBOX
) -> list[str]:
    """Set the project's webhook URL; returns the ids of events it released."""
    with app.app_context():
        return set_endpoint_url(project.project_id, environment, url)


def signing_secret(app, project: ProjectKeys, environment: Environment = SANDBOX) -> str:
    with app.app_context():
        return signing_secrets(endpoint_for(project.project_id, environment), utcnow())[0]


def purchased_event(app, client, project: ProjectKeys, fake: FakeMidtrans, url: str) -> str:
    """A payment settled while the project's webhooks go to `url`: its item.purchased id."""
    point_webhooks_at(app, project, url)
    settle(client, fake, create_payment(client, project))
    [row] = delivery_rows(app)
    assert row["event_type"] == "item.purchased"
    return row["id"]


def attempt_delivery(app, delivery_id: str) -> str:
    """One run of the delivery job, as the RQ worker would run it."""
    with app.app_context():
        return deliver(delivery_id)


def wait_for_retry(clock, app, delivery_id: str) -> None:
    """The scheduled retry time comes: `clock` (the `clock` fixture) moves on to it."""
    due = delivery_row(app, delivery_id)["next_attempt_at"]
    if due is not None and due > utcnow():
        clock.move_to(due)


def make_due(app, delivery_id: str) -> None:
    """Mark the delivery due now in the database, whatever its state: for a delivery that no
    retry time would ever make due (a finished one)."""
    with app.app_context():
        db.session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id == delivery_id)
            .values(next_attempt_at=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()


def after_the_rotation_grace(clock, app, project: ProjectKeys, environment=SANDBOX) -> None:
    """The previous signing secret's grace runs out: `clock` moves past its end."""
    with app.app_context():
        until = endpoint_for(project.project_id, environment).previous_secret_expires_at
    assert until is not None, "no rotation to wait out"
    clock.move_to(until + timedelta(seconds=1))


# -- what Lunas recorded -----------------------------------------------------------------------


def delivery_rows(app) -> list[dict[str, Any]]:
    return table_rows(
        app, WebhookDelivery, order_by=(WebhookDelivery.created_at, WebhookDelivery.id)
    )


def delivery_row(app, delivery_id: str) -> dict[str, Any]:
    [row] = [row for row in delivery_rows(app) if row["id"] == delivery_id]
    return row


def payloads(app, event_type: str | None = None) -> list[dict[str, Any]]:
    return [
        json.loads(row["body"])
        for row in delivery_rows(app)
        if event_type is None or row["event_type"] == event_type
    ]


def attempt_rows(app, delivery_id: str) -> list[dict[str, Any]]:
    return table_rows(app, WebhookAttempt, WebhookAttempt.delivery_id == delivery_id)


def lower_keys(headers: dict[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}
