"""`flask payments refund` and `flask payments cancel` (README, "Commands"): an operator's
refund and cancel through the same services as the merchant API, printing JSON."""

from __future__ import annotations

import json

from app.models import Refund
from tests.helpers import create_payment, invoke, payment_row, table_rows
from tests.merchant_api import paid_payment


def test_refund_prints_the_refund_and_records_who_asked(app, client, project, fake_midtrans):
    purchase_id = paid_payment(client, project, fake_midtrans)

    result = invoke(app, "payments", "refund", purchase_id, "--amount", "20000", "--reason", "CS")

    assert result.exit_code == 0, result.output
    printed = json.loads(result.output)
    assert (printed["purchase_id"], printed["amount"], printed["status"]) == (
        purchase_id,
        20000,
        "succeeded",
    )
    [row] = table_rows(app, Refund)
    assert (row["requested_by"], row["reason"]) == ("cli", "CS")
    assert payment_row(app, purchase_id)["refunded"] == 20000


def test_refund_without_amount_refunds_all_that_is_left(app, client, project, fake_midtrans):
    purchase_id = paid_payment(client, project, fake_midtrans)

    result = invoke(app, "payments", "refund", purchase_id)

    assert json.loads(result.output)["amount"] == 75000
    assert payment_row(app, purchase_id)["status"] == "refund"


def test_a_refused_refund_prints_the_error_envelope_and_exits_1(
    app, client, project, fake_midtrans
):
    purchase_id = paid_payment(client, project, fake_midtrans)

    over = invoke(app, "payments", "refund", purchase_id, "--amount", "75001")
    missing = invoke(app, "payments", "refund", "pur_nothing")

    assert over.exit_code == 1
    assert json.loads(over.output)["error"]["code"] == "refund_exceeds_payment"
    assert json.loads(missing.output)["error"]["code"] == "not_found"
    assert table_rows(app, Refund) == []


def test_cancel_prints_the_cancelled_payment(app, client, project, fake_midtrans):
    purchase_id = create_payment(client, project)

    result = invoke(app, "payments", "cancel", purchase_id)
    again = invoke(app, "payments", "cancel", purchase_id)

    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["status"] == "cancel"
    assert again.exit_code == 1
    assert json.loads(again.output)["error"]["code"] == "invalid_state"
