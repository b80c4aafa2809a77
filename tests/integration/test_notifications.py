"""POST /api/midtrans/notification through HTTP, with a fake Midtrans
answering Get Status. Each notification is stored first, then verified, confirmed and applied."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.conftest import PRODUCTION_SERVER_KEY, SERVER_KEY
from tests.fakes import Answer, FakeMidtrans
from tests.helpers import (
    NOTIFY_URL,
    TRANSACTION_ID,
    VERIFY_URL,
    create_payment,
    event_rows,
    notification,
    payment_row,
    status_changes,
)
from tests.webhook_flow import midtrans_moves, post_notification

REQUIRED_FIELDS = ["order_id", "status_code", "gross_amount", "signature_key", "transaction_status"]


# -- helpers ---------------------------------------------------------------------------------


def outcomes(app) -> list[str]:
    return [row["outcome"] for row in event_rows(app)]


def status_calls(fake: FakeMidtrans) -> list:
    return fake.calls("GET", "/v2/")


def verify(client, purchase_id: str) -> dict[str, Any]:
    response = client.get(VERIFY_URL, query_string={"order_id": purchase_id})
    assert response.status_code == 200
    return response.get_json()


def error_code(response) -> str:
    return response.get_json()["error"]["code"]


# -- the answer ------------------------------------------------------------------------------


def test_a_confirmed_settlement_answers_200_ok_and_settles(app, client, fake_midtrans, purchase_id):
    response = midtrans_moves(client, fake_midtrans, purchase_id, "settlement")

    assert response.status_code == 200
    assert response.get_json() == {"message": "ok"}
    assert verify(client, purchase_id)["status"] == "settlement"
    assert status_changes(app) == [("pending", "settlement")]
    assert outcomes(app) == ["applied"]


# -- 1. store the raw request first ----------------------------------------------------------


def test_stores_the_raw_request_with_selected_headers(app, client, fake_midtrans, purchase_id):
    fake_midtrans.set_status(purchase_id, "settlement", "75000.00")
    raw = json.dumps(notification(purchase_id, "settlement", SERVER_KEY), indent=1)

    post_notification(client, raw)

    [event] = event_rows(app)
    assert event["source"] == "notification"
    assert event["raw_body"] == raw
    assert event["headers"]["User-Agent"] == "Veritrans"
    assert event["headers"]["Content-Type"] == "application/json"
    assert event["received_at"] is not None
    assert event["payment_id"] == payment_row(app, purchase_id)["id"]


def test_a_request_whose_processing_crashes_is_still_stored(
    app, client, fake_midtrans, purchase_id, monkeypatch
):
    def crash(event_id):
        raise RuntimeError("processing blew up")

    monkeypatch.setattr("app.api.routes.process_notification", crash)
    raw = json.dumps(notification(purchase_id, "settlement", SERVER_KEY))

    response = post_notification(client, raw)

    assert response.status_code == 500
    assert error_code(response) == "internal_error"
    [event] = event_rows(app)
    assert event["raw_body"] == raw
    assert event["outcome"] == "received"


def _malformed(purchase_id: str) -> str:
    return '{"order_id": "' + purchase_id + '", "transaction_status": '


def _json_array(purchase_id: str) -> str:
    return json.dumps([notification(purchase_id, "settlement", SERVER_KEY)])


def _bad_signature(purchase_id: str) -> str:
    return json.dumps(notification(purchase_id, "settlement", "SB-Mid-server-wrong-key"))


def _unknown_order(purchase_id: str) -> str:
    return json.dumps(notification("pur_doesnotexist0000000000", "settlement", SERVER_KEY))


def _missing_field(purchase_id: str) -> str:
    body = notification(purchase_id, "settlement", SERVER_KEY)
    del body["signature_key"]
    return json.dumps(body)


@pytest.mark.parametrize(
    ("build", "http_status", "outcome"),
    [
        pytest.param(_malformed, 400, "invalid", id="malformed-json"),
        pytest.param(_json_array, 400, "invalid", id="json-array"),
        pytest.param(_missing_field, 400, "invalid", id="missing-field"),
        pytest.param(_bad_signature, 403, "rejected", id="bad-signature"),
        pytest.param(_unknown_order, 404, "unknown_order", id="unknown-order"),
    ],
)
def test_a_refused_request_is_stored_with_why_it_was_refused(
    app, client, fake_midtrans, purchase_id, build, http_status, outcome
):
    raw = build(purchase_id)

    response = post_notification(client, raw)

    assert response.status_code == http_status
    [event] = event_rows(app)
    assert event["raw_body"] == raw
    assert event["outcome"] == outcome
    assert event["http_status"] == http_status
    assert event["processed_at"] is not None


# -- 2. parse ----------------------------------------------------------------------------------


@pytest.mark.parametrize("field", REQUIRED_FIELDS)
def test_a_missing_required_field_is_400(app, client, fake_midtrans, purchase_id, field):
    body = notification(purchase_id, "settlement", SERVER_KEY)
    del body[field]
    before = payment_row(app, purchase_id)

    response = post_notification(client, body)

    assert response.status_code == 400
    error = response.get_json()["error"]
    assert (error["code"], error["field"]) == ("invalid_request", field)
    assert outcomes(app) == ["invalid"]
    assert payment_row(app, purchase_id) == before
    assert status_calls(fake_midtrans) == []


def test_a_malformed_body_is_400(app, client, fake_midtrans, purchase_id):
    response = post_notification(client, b"\xff\xfenot json at all")

    assert response.status_code == 400
    assert error_code(response) == "invalid_request"
    assert outcomes(app) == ["invalid"]


# -- 3. find the payment ------------------------------------------------------------------------


def test_an_unknown_order_is_404(app, client, fake_midtrans, purchase_id):
    response = post_notification(
        client, notification("pur_doesnotexist0000000000", "settlement", SERVER_KEY)
    )

    assert response.status_code == 404
    assert error_code(response) == "not_found"
    assert outcomes(app) == ["unknown_order"]
    assert status_calls(fake_midtrans) == []


def test_finds_the_payment_by_a_recorded_midtrans_transaction_id(
    app, client, fake_midtrans, purchase_id
):
    # given Midtrans already told us the transaction id of this payment
    assert midtrans_moves(client, fake_midtrans, purchase_id, "pending").status_code == 200
    assert payment_row(app, purchase_id)["midtrans_transaction_id"] == TRANSACTION_ID

    # when a later notification reports the transaction id in order_id (some VA / BI-SNAP)
    response = midtrans_moves(client, fake_midtrans, TRANSACTION_ID, "settlement")

    # then it settles that payment, confirmed with Get Status on the id as received
    assert response.status_code == 200
    assert verify(client, purchase_id)["status"] == "settlement"
    assert fake_midtrans.calls("GET", f"/v2/{TRANSACTION_ID}/status")


# -- 4. signature ---------------------------------------------------------------------------


def test_a_bad_signature_is_403_and_changes_nothing(app, client, fake_midtrans, purchase_id):
    fake_midtrans.set_status(purchase_id, "settlement", "75000.00")
    body = notification(purchase_id, "settlement", "SB-Mid-server-forged-key")
    before = payment_row(app, purchase_id)

    response = post_notification(client, body)

    assert response.status_code == 403
    assert error_code(response) == "invalid_signature"
    assert outcomes(app) == ["rejected"]
    assert payment_row(app, purchase_id) == before
    assert status_changes(app) == []
    assert status_calls(fake_midtrans) == []


@pytest.mark.parametrize("raw_gross_amount", ["75000.00", "75000"])
def test_the_signature_is_checked_over_the_raw_gross_amount_string(
    app, client, fake_midtrans, purchase_id, raw_gross_amount
):
    fake_midtrans.set_status(purchase_id, "settlement", "75000.00")
    body = notification(purchase_id, "settlement", SERVER_KEY, gross_amount=raw_gross_amount)

    response = post_notification(client, body)

    assert response.status_code == 200
    assert verify(client, purchase_id)["status"] == "settlement"


@pytest.mark.parametrize("reformatted", ["75000", "75000.0", "75,000.00", " 75000.00"])
def test_a_notification_whose_gross_amount_was_reformatted_is_rejected(
    app, client, fake_midtrans, purchase_id, reformatted
):
    fake_midtrans.set_status(purchase_id, "settlement", "75000.00")
    body = notification(purchase_id, "settlement", SERVER_KEY, gross_amount="75000.00")
    body["gross_amount"] = reformatted

    response = post_notification(client, body)

    assert response.status_code == 403
    assert error_code(response) == "invalid_signature"
    assert verify(client, purchase_id)["status"] == "pending"


def test_a_production_payment_is_verified_with_the_production_server_key(
    app, client, project, fake_midtrans
):
    order_id = create_payment(client, project, "production")
    app.config["MIDTRANS_PRODUCTION_SERVER_KEY"] = PRODUCTION_SERVER_KEY
    app.config["MIDTRANS_CONFIRM_STATUS"] = False

    with_sandbox_key = post_notification(client, notification(order_id, "settlement", SERVER_KEY))
    with_production_key = post_notification(
        client, notification(order_id, "settlement", PRODUCTION_SERVER_KEY)
    )

    assert with_sandbox_key.status_code == 403
    assert with_production_key.status_code == 200
    assert verify(client, order_id)["status"] == "settlement"


# -- 5. Get Status confirmation ----------------------------------------------------------------


def test_get_status_is_asked_for_the_order_id_with_the_server_key(
    app, client, fake_midtrans, purchase_id
):
    midtrans_moves(client, fake_midtrans, purchase_id, "settlement")

    [call] = status_calls(fake_midtrans)
    assert call.path == f"/v2/{purchase_id}/status"
    assert call.headers["Authorization"].startswith("Basic ")


def test_the_status_from_get_status_is_applied_not_the_notifications(
    app, client, fake_midtrans, purchase_id
):
    # given Midtrans says the transaction is still pending
    fake_midtrans.set_status(purchase_id, "pending", "75000.00")

    # when a (validly signed) notification claims settlement
    response = post_notification(client, notification(purchase_id, "settlement", SERVER_KEY))

    # then the payment stays pending
    assert response.status_code == 200
    assert verify(client, purchase_id)["status"] == "pending"
    assert status_changes(app) == []
    [event] = event_rows(app)
    assert event["transaction_status"] == "pending"


def test_the_amount_from_get_status_is_checked_not_the_notifications(
    app, client, fake_midtrans, purchase_id
):
    # given Midtrans's own record says less was paid than the notification claims
    fake_midtrans.set_status(purchase_id, "settlement", "50000.00")

    response = post_notification(client, notification(purchase_id, "settlement", SERVER_KEY))

    assert response.status_code == 422
    assert error_code(response) == "amount_mismatch"
    assert verify(client, purchase_id)["status"] == "pending"


def test_a_short_amount_in_the_notification_is_overridden_by_get_status(
    app, client, fake_midtrans, purchase_id
):
    fake_midtrans.set_status(purchase_id, "settlement", "75000.00")
    body = notification(purchase_id, "settlement", SERVER_KEY, gross_amount="50000.00")

    response = post_notification(client, body)

    assert response.status_code == 200
    assert verify(client, purchase_id)["status"] == "settlement"
    assert payment_row(app, purchase_id)["paid_amount"] == "75000.00"


def test_get_status_not_found_in_the_body_is_404(app, client, fake_midtrans, purchase_id):
    # given Get Status answers HTTP 200 with body status_code "404" (the fake's default)
    before = payment_row(app, purchase_id)

    response = post_notification(client, notification(purchase_id, "settlement", SERVER_KEY))

    assert response.status_code == 404
    assert error_code(response) == "not_found"
    assert payment_row(app, purchase_id) == before
    assert outcomes(app) == ["not_found_upstream"]


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(Answer(500, {"status_code": "500", "status_message": "boom"}), id="http-500"),
        pytest.param(Answer(200, {"status_code": "500", "status_message": "boom"}), id="body-500"),
        pytest.param(Answer(502, b"<html>Bad Gateway</html>"), id="not-json"),
    ],
)
def test_get_status_failing_is_503_and_changes_nothing(
    app, client, fake_midtrans, purchase_id, answer
):
    fake_midtrans.status_answers[purchase_id] = answer
    before = payment_row(app, purchase_id)

    response = post_notification(client, notification(purchase_id, "settlement", SERVER_KEY))

    assert response.status_code == 503
    assert error_code(response) == "unavailable"
    assert payment_row(app, purchase_id) == before
    assert outcomes(app) == ["unconfirmed"]


def test_get_status_timing_out_is_503_and_changes_nothing(app, client, fake_midtrans, purchase_id):
    app.config["MIDTRANS_STATUS_TIMEOUT_SECONDS"] = 0.5
    settled = fake_midtrans.set_status(purchase_id, "settlement", "75000.00")
    fake_midtrans.status_answers[purchase_id] = Answer(200, settled, delay=1.5)
    before = payment_row(app, purchase_id)

    started = time.monotonic()
    response = post_notification(client, notification(purchase_id, "settlement", SERVER_KEY))
    elapsed = time.monotonic() - started

    assert response.status_code == 503
    assert elapsed < 1.5
    assert payment_row(app, purchase_id) == before
    assert outcomes(app) == ["unconfirmed"]


def test_without_confirmation_the_notification_itself_is_applied(
    app, client, fake_midtrans, purchase_id
):
    app.config["MIDTRANS_CONFIRM_STATUS"] = False

    response = post_notification(
        client, notification(purchase_id, "settlement", SERVER_KEY, payment_type="gopay")
    )

    assert response.status_code == 200
    assert verify(client, purchase_id)["status"] == "settlement"
    assert payment_row(app, purchase_id)["midtrans_payment_type"] == "gopay"
    assert status_calls(fake_midtrans) == []


def test_without_confirmation_a_status_code_that_does_not_fit_the_status_is_refused(
    app, client, fake_midtrans, purchase_id
):
    # A replayed "pending" notification (signed with 201) whose status was edited to settlement
    # keeps its signature valid only with the old status_code: Midtrans never sends that pair.
    app.config["MIDTRANS_CONFIRM_STATUS"] = False
    before = payment_row(app, purchase_id)

    response = post_notification(
        client, notification(purchase_id, "settlement", SERVER_KEY, status_code="201")
    )

    assert response.status_code == 400
    assert response.get_json()["error"]["field"] == "status_code"
    assert payment_row(app, purchase_id) == before
    assert outcomes(app) == ["rejected"]


# -- 6. amount check ------------------------------------------------------------------------


def test_a_settlement_below_the_amount_is_422_and_changes_nothing(
    app, client, fake_midtrans, purchase_id
):
    before = payment_row(app, purchase_id)

    response = midtrans_moves(
        client, fake_midtrans, purchase_id, "settlement", gross_amount="74999.00"
    )

    assert response.status_code == 422
    assert error_code(response) == "amount_mismatch"
    assert payment_row(app, purchase_id) == before
    assert status_changes(app) == []
    assert outcomes(app) == ["amount_mismatch"]


def test_a_settlement_above_the_amount_is_accepted_and_recorded(
    app, client, fake_midtrans, purchase_id
):
    # Midtrans fee imposition: the buyer paid the fee on top
    response = midtrans_moves(
        client, fake_midtrans, purchase_id, "settlement", gross_amount="77500.00"
    )

    assert response.status_code == 200
    assert verify(client, purchase_id)["status"] == "settlement"
    assert payment_row(app, purchase_id)["paid_amount"] == "77500.00"


# -- 7. state machine: duplicates and order --------------------------------------------------


def test_the_same_settlement_five_times_settles_once(app, client, fake_midtrans, purchase_id):
    fake_midtrans.set_status(purchase_id, "settlement", "75000.00")
    body = notification(purchase_id, "settlement", SERVER_KEY)

    responses = [post_notification(client, body) for _ in range(5)]

    assert [response.status_code for response in responses] == [200] * 5
    assert verify(client, purchase_id)["status"] == "settlement"
    assert status_changes(app) == [("pending", "settlement")]
    assert outcomes(app) == ["applied"] + ["duplicate"] * 4


@pytest.mark.parametrize(
    ("sequence", "final", "expected_outcomes"),
    [
        pytest.param(
            ["pending", "settlement"],
            "settlement",
            ["confirmed", "applied"],  # the first "pending" confirms; it repeats nothing
            id="pending-then-paid",
        ),
        pytest.param(
            ["pending", "pending", "settlement"],
            "settlement",
            ["confirmed", "duplicate", "applied"],
            id="pending-twice-then-paid",
        ),
        pytest.param(
            ["settlement", "pending"], "settlement", ["applied", "stale"], id="late-pending"
        ),
        pytest.param(
            ["expire", "settlement"], "settlement", ["applied", "applied"], id="paid-after-expiry"
        ),
        pytest.param(["settlement", "deny"], "cancel", ["applied", "applied"], id="reversal"),
        pytest.param(
            ["settlement", "partial_refund", "refund"],
            "refund",
            ["applied", "applied", "applied"],
            id="partial-then-full-refund",
        ),
        pytest.param(
            # Money Midtrans confirms for a checkout cancelled unpaid is applied (SPEC §11.3).
            ["cancel", "settlement"],
            "settlement",
            ["applied", "applied"],
            id="paid-after-cancel",
        ),
        pytest.param(
            ["expire", "cancel"], "expire", ["applied", "stale"], id="cancel-after-expiry"
        ),
        pytest.param(
            ["refund", "settlement"], "refund", ["applied", "stale"], id="paid-after-refund"
        ),
        pytest.param(
            ["settlement", "partial_refund", "settlement"],
            "partial_refund",
            ["applied", "applied", "stale"],
            id="settlement-after-partial-refund",
        ),
    ],
)
def test_notifications_in_sequence_only_move_forward(
    app, client, fake_midtrans, purchase_id, sequence, final, expected_outcomes
):
    responses = [midtrans_moves(client, fake_midtrans, purchase_id, status) for status in sequence]

    assert [response.status_code for response in responses] == [200] * len(sequence)
    assert verify(client, purchase_id)["status"] == final
    assert outcomes(app) == expected_outcomes


def test_a_stale_notification_changes_nothing(app, client, fake_midtrans, purchase_id):
    # given a settled payment
    midtrans_moves(client, fake_midtrans, purchase_id, "settlement")
    before = payment_row(app, purchase_id)

    # when a late pending arrives (and Midtrans still reports it at that moment)
    response = midtrans_moves(client, fake_midtrans, purchase_id, "pending", payment_type="gopay")

    # then it is answered 200, recorded as stale, and the payment is exactly as it was
    assert response.status_code == 200
    assert response.get_json() == {"message": "ok"}
    assert outcomes(app) == ["applied", "stale"]
    assert payment_row(app, purchase_id) == before
    assert status_changes(app) == [("pending", "settlement")]


def test_each_new_partial_refund_is_applied_once(app, client, fake_midtrans, purchase_id):
    midtrans_moves(client, fake_midtrans, purchase_id, "settlement")

    for refunded in ("10000.00", "10000.00", "25000.00"):
        response = midtrans_moves(
            client, fake_midtrans, purchase_id, "partial_refund", refund_amount=refunded
        )
        assert response.status_code == 200

    assert outcomes(app) == ["applied", "applied", "duplicate", "applied"]
    assert status_changes(app) == [
        ("pending", "settlement"),
        ("settlement", "partial_refund"),
        ("partial_refund", "partial_refund"),
    ]
    assert payment_row(app, purchase_id)["refunded_amount"] == "25000.00"


def test_a_payment_settled_after_expiry_gets_its_paid_time(app, client, fake_midtrans, purchase_id):
    midtrans_moves(client, fake_midtrans, purchase_id, "expire")

    midtrans_moves(
        client, fake_midtrans, purchase_id, "settlement", settlement_time="2026-11-23 08:30:00"
    )

    assert status_changes(app) == [("pending", "expire"), ("expire", "settlement")]
    assert verify(client, purchase_id)["paid_at"] == "2026-11-23T01:30:00Z"


def test_an_unknown_midtrans_status_is_recorded_and_answered_200(
    app, client, fake_midtrans, purchase_id
):
    before = payment_row(app, purchase_id)

    response = midtrans_moves(client, fake_midtrans, purchase_id, "under_review")

    assert response.status_code == 200
    assert response.get_json() == {"message": "ok"}
    [event] = event_rows(app)
    assert event["outcome"] == "unknown_status"
    assert event["transaction_status"] == "under_review"
    assert payment_row(app, purchase_id) == before


def test_a_card_challenged_by_fraud_detection_stays_pending(
    app, client, fake_midtrans, purchase_id
):
    response = midtrans_moves(
        client,
        fake_midtrans,
        purchase_id,
        "capture",
        fraud_status="challenge",
        payment_type="credit_card",
    )

    assert response.status_code == 200
    assert verify(client, purchase_id)["status"] == "pending"
    assert payment_row(app, purchase_id)["midtrans_fraud_status"] == "challenge"


# -- paid time and raw Midtrans fields ------------------------------------------------------


def test_paid_at_is_settlement_time_converted_from_jakarta_time(
    app, client, fake_midtrans, purchase_id
):
    midtrans_moves(
        client,
        fake_midtrans,
        purchase_id,
        "settlement",
        transaction_time="2026-11-22 16:59:00",
        settlement_time="2026-11-22 17:00:05",
    )

    assert verify(client, purchase_id)["paid_at"] == "2026-11-22T10:00:05Z"


def test_paid_at_falls_back_to_transaction_time(app, client, fake_midtrans, purchase_id):
    # a card capture carries no settlement_time
    midtrans_moves(
        client,
        fake_midtrans,
        purchase_id,
        "capture",
        payment_type="credit_card",
        transaction_time="2026-11-22 16:59:00",
    )

    assert verify(client, purchase_id)["paid_at"] == "2026-11-22T09:59:00Z"


def test_keeps_the_raw_midtrans_fields_on_the_payment(app, client, fake_midtrans, purchase_id):
    midtrans_moves(
        client,
        fake_midtrans,
        purchase_id,
        "capture",
        fraud_status="accept",
        payment_type="credit_card",
    )

    payment = payment_row(app, purchase_id)
    assert payment["status"] == "settlement"
    assert payment["midtrans_transaction_status"] == "capture"
    assert payment["midtrans_fraud_status"] == "accept"
    assert payment["midtrans_payment_type"] == "credit_card"
    assert payment["midtrans_transaction_id"] == TRANSACTION_ID


# -- 8. size limit ----------------------------------------------------------------------------


def _padded_to(body: dict[str, Any], size: int) -> bytes:
    body = {**body, "custom_field1": ""}
    padding = size - len(json.dumps(body).encode())
    body["custom_field1"] = "x" * padding
    raw = json.dumps(body).encode()
    assert len(raw) == size
    return raw


def test_a_body_over_64_kb_is_413_and_not_stored(app, client, fake_midtrans, purchase_id):
    fake_midtrans.set_status(purchase_id, "settlement", "75000.00")
    raw = _padded_to(notification(purchase_id, "settlement", SERVER_KEY), 64 * 1024 + 1)

    response = post_notification(client, raw)

    assert response.status_code == 413
    assert error_code(response) == "payload_too_large"
    assert event_rows(app) == []
    assert verify(client, purchase_id)["status"] == "pending"


def test_a_body_of_exactly_64_kb_is_processed(app, client, fake_midtrans, purchase_id):
    fake_midtrans.set_status(purchase_id, "settlement", "75000.00")
    raw = _padded_to(notification(purchase_id, "settlement", SERVER_KEY), 64 * 1024)

    response = post_notification(client, raw)

    assert response.status_code == 200
    assert outcomes(app) == ["applied"]


def _in_chunks(raw: bytes, size: int = 4096) -> Iterator[bytes]:
    """A generator body: requests sends it with Transfer-Encoding: chunked, no Content-Length."""
    for start in range(0, len(raw), size):
        yield raw[start : start + size]


def test_a_chunked_body_over_64_kb_is_413_and_not_stored(
    app, live_server, fake_midtrans, purchase_id
):
    fake_midtrans.set_status(purchase_id, "settlement", "75000.00")
    raw = _padded_to(notification(purchase_id, "settlement", SERVER_KEY), 100 * 1024)

    response = requests.post(
        f"{live_server}{NOTIFY_URL}",
        data=_in_chunks(raw),
        headers={"Content-Type": "application/json"},
        timeout=10,
    )

    assert response.status_code == 413
    assert event_rows(app) == []
    assert payment_row(app, purchase_id)["status"] == "pending"


def test_a_chunked_body_of_exactly_64_kb_is_processed(app, live_server, fake_midtrans, purchase_id):
    fake_midtrans.set_status(purchase_id, "settlement", "75000.00")
    raw = _padded_to(notification(purchase_id, "settlement", SERVER_KEY), 64 * 1024)

    response = requests.post(
        f"{live_server}{NOTIFY_URL}",
        data=_in_chunks(raw),
        headers={"Content-Type": "application/json"},
        timeout=10,
    )

    assert response.status_code == 200
    assert [row["raw_body"].encode() for row in event_rows(app)] == [raw]
