"""Small builders shared by the tests: the URLs they call, users and projects, payment rows and
request bodies, reading rows back, and reading HTML pages (BeautifulSoup, never regexes)."""

from __future__ import annotations

import base64
import itertools
import re
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any
from urllib.parse import urlsplit

from bs4 import BeautifulSoup
from flask_babel import force_locale, gettext
from sqlalchemy import func, select, update
from werkzeug.security import generate_password_hash

from app.extensions import db
from app.midtrans.signature import compute_signature
from app.midtrans.timefmt import format_midtrans_time
from app.models import (
    Environment,
    Payment,
    PaymentEvent,
    PaymentStatus,
    PaymentStatusChange,
    User,
)
from app.models.base import utcnow
from app.services.accounts.projects import create_project
from app.services.accounts.users import find_user_by_email

CHECKOUT_URL = "/api/platform/shop-payment"
VERIFY_URL = "/api/platform/shop-payment/verify"
NOTIFY_URL = "/api/midtrans/notification"
CALLBACK_URL = "/purchase/callback"
SNAP = "/snap/v1/transactions"  # Snap's create-transaction path, as the fake Midtrans records it
TRANSACTION_ID = "9aed5972-5b6a-401e-894b-a32c91ed1a3a"  # Midtrans's id in our notifications
MERCHANT_URL = "https://hooks.merchant.example/lunas"  # a webhook URL nobody is sent to
ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")  # how answers and webhooks show times

TEST_PASSWORD = "correct horse battery"


# -- users and projects ------------------------------------------------------------------------


@cache
def _password_hash() -> str:
    # scrypt is deliberately slow; hash the shared test password once per run.
    return generate_password_hash(TEST_PASSWORD)


def new_user(
    email: str = "owner@example.com", verified: bool = True, operator: bool = False
) -> User:
    user = User(
        email=email,
        password_hash=_password_hash(),
        email_verified_at=utcnow() if verified else None,
        is_operator=operator,
    )
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

    def auth(self, environment: str = "sandbox") -> dict[str, str]:
        """HTTP Basic headers of this environment's credential (the merchant API's way)."""
        body = self.body(environment)
        return basic_auth(body["client_id"], body["client_secret"])


def new_project(
    name: str = "Toko Contoh",
    template: str | None = None,
    owner: str = "owner@example.com",
    webhook_url: str | None = None,
    approved: bool = True,
) -> ProjectKeys:
    """A project as an operator's CLI makes one: production approved (unless told not)."""
    user = find_user_by_email(owner) or new_user(owner)
    created = create_project(user, name, template, webhook_url, approved=approved)
    sandbox = created.keys[Environment.SANDBOX]
    production = created.keys[Environment.PRODUCTION]
    return ProjectKeys(
        created.project.id,
        sandbox.client_id,
        sandbox.client_secret,
        production.client_id,
        production.client_secret,
    )


# -- payments ----------------------------------------------------------------------------------

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


def add_payment(
    project_id: str, created_at: datetime, environment: str = "sandbox", **fields: Any
) -> str:
    """Add and commit a direct_payment (inside an app context); its purchase_id."""
    payment = direct_payment(project_id, created_at, environment, **fields)
    db.session.add(payment)
    db.session.commit()
    return payment.purchase_id


def set_status(app, purchase_id: str, status: PaymentStatus, **values: Any) -> None:
    """Put a payment in `status` by hand (no status change, no event, no webhook)."""
    with app.app_context():
        db.session.execute(
            update(Payment)
            .where(Payment.purchase_id == purchase_id)
            .values(status=status, **values)
        )
        db.session.commit()


# -- requests ----------------------------------------------------------------------------------


def checkout_body(keys: ProjectKeys, environment: str = "sandbox", **fields: Any) -> dict:
    body = {
        **keys.body(environment),
        "amount": 75000,
        "order_id": "order-1",
        "buyer_email": "buyer@example.com",
    }
    body.update(fields)
    return body


def create_checkout(client, keys: ProjectKeys, environment: str = "sandbox", **fields) -> dict:
    """A pending payment (75 000 IDR unless told) through the platform API: the 201 answer."""
    response = client.post(CHECKOUT_URL, json=checkout_body(keys, environment, **fields))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def create_payment(client, keys: ProjectKeys, environment: str = "sandbox", **fields) -> str:
    """A pending payment (75 000 IDR unless told) through the platform API; its purchase_id."""
    return create_checkout(client, keys, environment, **fields)["purchase_id"]


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
        "transaction_id": extra.pop("transaction_id", TRANSACTION_ID),
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


def without(body: dict, *names: str) -> dict:
    return {key: value for key, value in body.items() if key not in names}


def basic_auth(user: str, password: str) -> dict[str, str]:
    """The Authorization header of HTTP Basic credentials."""
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def invoke(app, *args: str):
    """A `flask …` command, run in-process; the click Result."""
    return app.test_cli_runner().invoke(args=list(args))


# -- reading rows back -------------------------------------------------------------------------


def table_rows(app, model, *where, order_by=None) -> list[dict[str, Any]]:
    """Every row of `model`'s table (those matching `where`), as dicts, by primary key unless
    told otherwise."""
    table = model.__table__
    with app.app_context():
        rows = db.session.execute(
            select(table)
            .where(*where)
            .order_by(*(order_by if order_by is not None else table.primary_key.columns))
        )
        return [dict(row) for row in rows.mappings()]


def row_count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def payment_rows(app) -> list[dict[str, Any]]:
    return table_rows(app, Payment)


def payment_row(app, purchase_id: str) -> dict[str, Any] | None:
    """The payment's row, or None when there is none."""
    rows = table_rows(app, Payment, Payment.purchase_id == purchase_id)
    return rows[0] if rows else None


def event_rows(app) -> list[dict[str, Any]]:
    """Every stored Midtrans notification or status check, oldest first."""
    return table_rows(app, PaymentEvent)


def status_changes(app) -> list[tuple[str, str]]:
    """(from_status, to_status) of every recorded status change, oldest first."""
    return [(row["from_status"], row["to_status"]) for row in table_rows(app, PaymentStatusChange)]


# -- HTML pages --------------------------------------------------------------------------------


def soup(page) -> BeautifulSoup:
    """A page parsed: `page` is a Flask or requests response, HTML text, or already parsed."""
    if isinstance(page, BeautifulSoup):
        return page
    if hasattr(page, "get_data"):  # a Flask test response
        page = page.get_data(as_text=True)
    elif hasattr(page, "text"):  # a requests response
        page = page.text
    return BeautifulSoup(page, "html.parser")


def text_of(page) -> str:
    """The page's text as a reader sees it: no script or style, whitespace collapsed."""
    return " ".join(soup(page).get_text(" ").split())


def link(page, text: str | None = None, *, rel: str | None = None) -> str | None:
    """The href of the first link whose text contains `text` (or that has `rel`), entities
    decoded; None when there is no such link."""
    for anchor in soup(page).find_all("a", href=True):
        if text is not None and text not in anchor.get_text():
            continue
        if rel is not None and rel not in anchor.get("rel", []):
            continue
        return anchor["href"]
    return None


def linked_ids(page, collection: str) -> list[str]:
    """The ids in the page's links to one item of `collection` (a path part such as
    "/deliveries/"), in page order."""
    ids = []
    for anchor in soup(page).find_all("a", href=True):
        _, found, item = urlsplit(anchor["href"]).path.partition(collection)
        if found and item and "/" not in item:
            ids.append(item)
    return ids


def csrf_token_in(page) -> str:
    """The value of the page's (first) csrf_token form field."""
    field = soup(page).find("input", attrs={"name": "csrf_token"})
    assert field is not None and field.get("value"), "no csrf_token on the page"
    return field["value"]


def wait_for_simulator_notifications() -> None:
    """Let the Midtrans simulator's delayed notifications (after a cancel or a refund) land
    before the test goes on, or before its database goes away."""
    for thread in threading.enumerate():
        if thread.name.startswith("simulator-notify-"):
            thread.join(timeout=15)


def in_bahasa_indonesia(app, message: str, same: bool = False, **values: Any) -> str:
    """The catalog's Bahasa Indonesia for an English message of the portal or the docs, read
    through the app's compiled catalog, so an untranslated or unbuilt message fails (unless
    `same`: a word that reads the same in both, like "Email")."""
    with app.test_request_context(), force_locale("id"):
        said = gettext(message, **values)
    english = message % values if values else message
    assert same or said != english, f"not translated: {message}"
    return said
