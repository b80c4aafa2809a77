"""Small builders shared by the tests."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from werkzeug.security import generate_password_hash

from app.extensions import db
from app.midtrans.signature import compute_signature
from app.midtrans.timefmt import format_midtrans_time
from app.models import Environment, Payment, User
from app.models.base import utcnow
from app.services.accounts.users import find_user_by_email
from app.services.accounts.projects import create_project

TEST_PASSWORD = "correct horse battery"


@cache
def _password_hash() -> str:
    # scrypt is deliberately slow; hash the shared test password once per run.
    return generate_password_hash(TEST_PASSWORD)


def new_user(email: str = "owner@example.com") -> User:
    user = User(email=email, password_hash=_password_hash())
    db.session.add(user)
    db.session.commit()
    return user


@dataclass(frozen=True)
class ProjectKeys:
    project_id: str
    sandbox_id: str
    sandbox_secret: str
    production_id: str
    production_secret: str

    def body(self, environment: str = "sandbox") -> dict[str, str]:
        if environment == "sandbox":
            return {"client_id": self.sandbox_id, "client_secret": self.sandbox_secret}
        return {"client_id": self.production_id, "client_secret": self.production_secret}


def new_project(
    name: str = "Toko Contoh", template: str | None = None, owner: str = "owner@example.com"
) -> ProjectKeys:
    user = find_user_by_email(owner) or new_user(owner)
    created = create_project(user, name, template)
    sandbox = created.keys[Environment.SANDBOX]
    production = created.keys[Environment.PRODUCTION]
    return ProjectKeys(
        created.project.id,
        sandbox.client_id,
        sandbox.client_secret,
        production.client_id,
        production.client_secret,
    )


_serial = itertools.count(1)


def direct_payment(
    project_id: str, created_at: datetime, environment: str = "sandbox", **fields: Any
) -> Payment:
    """A payment row to add directly (as the seed does), not through checkout or
    apply_status: for tests where only the listed values matter."""
    n = next(_serial)
    values: dict[str, Any] = dict(
        purchase_id=f"pur_test{n:020d}",
        project_id=project_id,
        environment=environment,
        order_id=f"INV-{n}",
        amount=10_000,
        buyer_email=f"buyer{n}@example.com",
        status="pending",
        expires_at=created_at + timedelta(days=1),
        created_at=created_at,
    )
    values.update(fields)
    return Payment(**values)


def checkout_body(keys: ProjectKeys, environment: str = "sandbox", **fields: Any) -> dict:
    body = {
        **keys.body(environment),
        "amount": 75000,
        "order_id": "order-1",
        "buyer_email": "buyer@example.com",
    }
    body.update(fields)
    return body


def notification(
    order_id: str,
    transaction_status: str,
    server_key: str,
    gross_amount: str = "75000.00",
    status_code: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A Midtrans HTTP notification, signed as Midtrans signs it."""
    code = status_code or {"pending": "201", "deny": "202", "cancel": "202", "expire": "202"}.get(
        transaction_status, "200"
    )
    body = {
        "transaction_time": format_midtrans_time(utcnow()),
        "transaction_status": transaction_status,
        "transaction_id": extra.pop("transaction_id", "9aed5972-5b6a-401e-894b-a32c91ed1a3a"),
        "status_message": "midtrans payment notification",
        "status_code": code,
        "signature_key": compute_signature(order_id, code, gross_amount, server_key),
        "payment_type": "bank_transfer",
        "order_id": order_id,
        "merchant_id": "G141532850",
        "gross_amount": gross_amount,
        "fraud_status": "accept",
        "currency": "IDR",
    }
    body.update(extra)
    return body
