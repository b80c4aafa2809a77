"""Calling the merchant API v1 (SPEC §11) as a merchant's backend does: HTTP Basic."""

from __future__ import annotations

from typing import Any

from tests.fakes import FakeMidtrans
from tests.helpers import ProjectKeys, create_payment
from tests.webhook_flow import settle

PAYMENTS_URL = "/api/platform/payments"


def payment_url(reference: str, action: str = "") -> str:
    return f"{PAYMENTS_URL}/{reference}" + (f"/{action}" if action else "")


def api_get(client, keys: ProjectKeys, path: str, environment: str = "sandbox", **params):
    return client.get(path, query_string=params, headers=keys.auth(environment))


def api_post(
    client,
    keys: ProjectKeys,
    path: str,
    body: dict[str, Any] | None = None,
    environment: str = "sandbox",
    key: str | None = None,
):
    headers = keys.auth(environment)
    if key is not None:
        headers["Idempotency-Key"] = key
    if body is None:
        return client.post(path, headers=headers)
    return client.post(path, json=body, headers=headers)


def refund(client, keys: ProjectKeys, reference: str, environment: str = "sandbox", **body):
    return api_post(client, keys, payment_url(reference, "refunds"), body, environment)


def paid_payment(
    client, keys: ProjectKeys, fake: FakeMidtrans, payment_type: str = "qris", **fields: Any
) -> str:
    """A settled 75 000 IDR sandbox payment (paid by QRIS unless told); its purchase_id."""
    purchase_id = create_payment(client, keys, **fields)
    settle(client, fake, purchase_id, payment_type=payment_type)
    return purchase_id
