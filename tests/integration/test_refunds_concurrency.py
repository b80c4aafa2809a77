"""Twenty partial refunds racing over a real socket never together exceed the payment
(the payment's row lock, SPEC §11.4); PostgreSQL only, where the lock is real."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
import requests

from app.models import Refund
from tests.helpers import payment_row, table_rows
from tests.merchant_api import paid_payment, payment_url

pytestmark = pytest.mark.postgres_only

CONCURRENCY = 20


def test_twenty_racing_partial_refunds_never_exceed_the_amount(
    app, client, live_server, project, fake_midtrans
):
    purchase_id = paid_payment(client, project, fake_midtrans)  # 75 000
    barrier = threading.Barrier(CONCURRENCY)
    statuses: list[int | str] = [0] * CONCURRENCY

    def ask(index: int) -> None:
        barrier.wait()
        try:
            response = requests.post(
                f"{live_server}{payment_url(purchase_id, 'refunds')}",
                json={"amount": 5000 + index},  # 20 × ~5 000 > 75 000
                auth=(project.sandbox_id, project.sandbox_secret),
                timeout=60,
            )
            statuses[index] = response.status_code
        except requests.RequestException as exc:
            statuses[index] = repr(exc)

    threads = [threading.Thread(target=ask, args=(index,)) for index in range(CONCURRENCY)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    counts = Counter(statuses)
    assert set(counts) <= {201, 422}, statuses
    refunds = table_rows(app, Refund)
    assert all(row["status"] == "succeeded" for row in refunds)
    total = sum(row["amount"] for row in refunds)
    assert total <= 75000
    assert counts[201] == len(refunds) >= 13  # 13 × ~5 000 fit; racing must not lose them
    assert payment_row(app, purchase_id)["refunded"] == total
    # Midtrans was asked for exactly the refunds we made, each once.
    keys = [c.body["refund_key"] for c in fake_midtrans.calls("POST", "/v2/") if c.body]
    assert sorted(keys) == sorted(row["id"] for row in refunds)
