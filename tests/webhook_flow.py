"""Helpers for the outbound-webhook tests: take a payment through Midtrans notifications, point
a project's webhooks somewhere, run one delivery attempt, and read what Lunas recorded."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from app.extensions import db
from app.models import Environment, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from app.models.base import utcnow
from app.services.outbox.delivery import deliver
from app.services.outbox.endpoints import endpoint_for, set_endpoint_url, signing_secrets
from tests.conftest import SERVER_KEY
from tests.fakes import FakeMidtrans
from tests.helpers import ProjectKeys, checkout_body, notification

CHECKOUT_URL = "/api/platform/shop-payment"
NOTIFY_URL = "/api/midtrans/notification"
TRANSACTION_ID = "9aed5972-5b6a-401e-894b-a32c91ed1a3a"
SANDBOX = Environment.SANDBOX


def create_payment(client, project: ProjectKeys, environment: str = "sandbox", **fields) -> str:
    """A pending payment of 75 000 IDR through the platform API; returns its purchase_id."""
    response = client.post(CHECKOUT_URL, json=checkout_body(project, environment, **fields))
    assert response.status_code == 201, response.get_json()
    return response.get_json()["purchase_id"]


def midtrans_moves(
    client,
    fake: FakeMidtrans,
    purchase_id: str,
    transaction_status: str,
    gross_amount: str = "75000.00",
    **extra: Any,
):
    """Midtrans moves the transaction (Get Status agrees) and sends its signed notification."""
    fake.set_status(
        purchase_id, transaction_status, gross_amount, transaction_id=TRANSACTION_ID, **extra
    )
    body = notification(
        purchase_id,
        transaction_status,
        SERVER_KEY,
        gross_amount=gross_amount,
        transaction_id=TRANSACTION_ID,
        **extra,
    )
    return client.post(NOTIFY_URL, data=json.dumps(body), content_type="application/json")


def settle(client, fake: FakeMidtrans, purchase_id: str, **extra: Any) -> None:
    response = midtrans_moves(client, fake, purchase_id, "settlement", **extra)
    assert response.status_code == 200, response.get_json()


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


def make_due(app, delivery_id: str) -> None:
    """The scheduled retry time has come."""
    with app.app_context():
        db.session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id == delivery_id)
            .values(next_attempt_at=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()


def expire_previous_secret(app, project: ProjectKeys, environment: Environment = SANDBOX):
    with app.app_context():
        db.session.execute(
            update(WebhookEndpoint)
            .where(
                WebhookEndpoint.project_id == project.project_id,
                WebhookEndpoint.environment == environment,
            )
            .values(previous_secret_expires_at=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()


def delivery_rows(app) -> list[dict[str, Any]]:
    with app.app_context():
        rows = db.session.execute(
            select(WebhookDelivery.__table__).order_by(
                WebhookDelivery.created_at, WebhookDelivery.id
            )
        )
        return [dict(row) for row in rows.mappings()]


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
    with app.app_context():
        rows = db.session.execute(
            select(WebhookAttempt.__table__)
            .where(WebhookAttempt.delivery_id == delivery_id)
            .order_by(WebhookAttempt.id)
        )
        return [dict(row) for row in rows.mappings()]


def lower_keys(headers: dict[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}
