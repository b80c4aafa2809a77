"""Notifications arriving concurrently, over a real socket, give the same final status
as one at a time, with exactly one change into settlement."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import pytest
import requests
from sqlalchemy import select

from app.extensions import db
from app.models import Payment, PaymentEvent, PaymentStatusChange
from tests.conftest import SERVER_KEY
from tests.helpers import NOTIFY_URL, notification

pytestmark = pytest.mark.postgres_only

CONCURRENCY = 20


def post_all_at_once(base_url: str, bodies: list[dict[str, Any]]) -> list[int]:
    """POST every body from its own thread, released together; the HTTP status of each."""
    barrier = threading.Barrier(len(bodies))
    statuses: list[int | str] = [0] * len(bodies)

    def send(index: int, body: dict[str, Any]) -> None:
        barrier.wait()
        try:
            response = requests.post(f"{base_url}{NOTIFY_URL}", json=body, timeout=30)
            statuses[index] = response.status_code
        except requests.RequestException as exc:
            statuses[index] = repr(exc)

    threads = [
        threading.Thread(target=send, args=(index, body)) for index, body in enumerate(bodies)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return statuses


def final_state(app, purchase_id: str) -> tuple[str, list[tuple[str, str]], Counter]:
    with app.app_context():
        status = db.session.scalar(select(Payment.status).where(Payment.purchase_id == purchase_id))
        changes = db.session.execute(
            select(PaymentStatusChange.from_status, PaymentStatusChange.to_status)
        ).all()
        outcomes = db.session.scalars(select(PaymentEvent.outcome)).all()
    return status, [tuple(change) for change in changes], Counter(outcomes)


def test_twenty_concurrent_settlements_settle_once(app, live_server, fake_midtrans, purchase_id):
    fake_midtrans.set_status(purchase_id, "settlement", "75000.00")
    body = notification(purchase_id, "settlement", SERVER_KEY)

    statuses = post_all_at_once(live_server, [body] * CONCURRENCY)

    assert statuses == [200] * CONCURRENCY
    status, changes, outcomes = final_state(app, purchase_id)
    assert status == "settlement"
    assert changes == [("pending", "settlement")]
    assert outcomes == Counter({"applied": 1, "duplicate": CONCURRENCY - 1})


def test_twenty_concurrent_pendings_confirm_once_and_change_nothing(
    app, live_server, fake_midtrans, purchase_id
):
    fake_midtrans.set_status(purchase_id, "pending", "75000.00")
    body = notification(purchase_id, "pending", SERVER_KEY)

    statuses = post_all_at_once(live_server, [body] * CONCURRENCY)

    assert statuses == [200] * CONCURRENCY
    status, changes, outcomes = final_state(app, purchase_id)
    assert (status, changes) == ("pending", [])
    # Under the payment's row lock one of them is first: it confirms, the rest repeat it.
    assert outcomes == Counter({"confirmed": 1, "duplicate": CONCURRENCY - 1})


def test_a_concurrent_mixed_batch_ends_in_what_get_status_says(
    app, live_server, fake_midtrans, purchase_id
):
    # given Midtrans's truth is settlement, whatever each notification claims
    fake_midtrans.set_status(purchase_id, "settlement", "75000.00")
    claims = ["settlement", "pending", "expire", "settlement", "cancel"]
    bodies = [
        notification(purchase_id, claims[index % len(claims)], SERVER_KEY)
        for index in range(CONCURRENCY)
    ]

    statuses = post_all_at_once(live_server, bodies)

    assert statuses == [200] * CONCURRENCY
    status, changes, outcomes = final_state(app, purchase_id)
    assert status == "settlement"
    assert changes == [("pending", "settlement")]
    assert outcomes == Counter({"applied": 1, "duplicate": CONCURRENCY - 1})
