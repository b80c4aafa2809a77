"""POST /api/platform/shop-payment when Midtrans fails or is not configured.

A failed Snap call answers 502 upstream_error and leaves nothing behind, so the merchant can
retry the same order_id; a missing server key answers 503 before anything is stored.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from flask import Flask

from app.models import Payment
from tests.conftest import PRODUCTION_SERVER_KEY, SERVER_KEY
from tests.fakes import SNAP_UNAUTHORIZED, Answer, FakeMidtrans
from tests.helpers import CHECKOUT_URL, SNAP, checkout_body, row_count

WRONG_SERVER_KEY = "SB-Mid-server-wrong-key-9876543210"
UNREACHABLE = "http://127.0.0.1:9/snap"


def wrong_server_key(app, fake):
    app.config["MIDTRANS_SANDBOX_SERVER_KEY"] = WRONG_SERVER_KEY


def restore_server_key(app, fake):
    app.config["MIDTRANS_SANDBOX_SERVER_KEY"] = fake.server_key


def answer(status: int, body) -> Callable[[Flask, FakeMidtrans], None]:
    def program(app, fake):
        fake.snap_answer = Answer(status, body)

    return program


def heal_answer(app, fake):
    fake.snap_answer = None


def slow_answer(app, fake):
    app.config["MIDTRANS_CREATE_TIMEOUT_SECONDS"] = 0.5
    fake.snap_answer = Answer(201, {"token": "late", "redirect_url": "https://x.test/r"}, 1.5)


def unreachable(app, fake):
    app.config["MIDTRANS_SANDBOX_SNAP_BASE"] = UNREACHABLE


def reachable(app, fake):
    app.config["MIDTRANS_SANDBOX_SNAP_BASE"] = f"{fake.url}/snap"


FAILURES = [
    # (break Midtrans, heal it, what the merchant must read, Snap calls that reached the fake)
    pytest.param(wrong_server_key, restore_server_key, SNAP_UNAUTHORIZED, 1, id="401-wrong-key"),
    pytest.param(
        answer(
            400,
            {
                "error_messages": [
                    "transaction_details.gross_amount is not equal to the sum of item_details",
                    "customer_details.email format is invalid",
                ]
            },
        ),
        heal_answer,
        "transaction_details.gross_amount is not equal to the sum of item_details; "
        "customer_details.email format is invalid",
        1,
        id="400-error-messages",
    ),
    pytest.param(
        answer(
            500, {"error_messages": ["Sorry. Our system is recovering from unexpected issues."]}
        ),
        heal_answer,
        "Sorry. Our system is recovering from unexpected issues.",
        1,
        id="500",
    ),
    pytest.param(
        answer(503, {"status_code": "503", "status_message": "Service is temporarily down"}),
        heal_answer,
        "Service is temporarily down",
        1,
        id="503-status-message",
    ),
    pytest.param(
        answer(502, b"<html><body>502 Bad Gateway</body></html>"),
        heal_answer,
        None,
        1,
        id="non-json",
    ),
    pytest.param(answer(201, ["not", "an", "object"]), heal_answer, None, 1, id="json-array"),
    pytest.param(
        answer(201, {"redirect_url": "https://x.test/r"}), heal_answer, None, 1, id="no-token"
    ),
    pytest.param(
        answer(201, {"token": "t", "redirect_url": "javascript:alert(1)"}),
        heal_answer,
        None,
        1,
        id="unusable-redirect-url",
    ),
    pytest.param(slow_answer, heal_answer, None, 1, id="timeout"),
    pytest.param(unreachable, reachable, None, 0, id="unreachable"),
]


@pytest.mark.parametrize(("break_midtrans", "heal", "midtrans_says", "reached"), FAILURES)
def test_midtrans_failure_is_502_and_leaves_nothing_behind(
    app, client, project, fake_midtrans, break_midtrans, heal, midtrans_says, reached
):
    break_midtrans(app, fake_midtrans)

    response = client.post(CHECKOUT_URL, json=checkout_body(project))

    assert response.status_code == 502
    error = response.get_json()["error"]
    assert error["code"] == "upstream_error"
    assert error["message"]
    if midtrans_says is not None:
        assert midtrans_says in error["message"]
    text = response.get_data(as_text=True)
    for secret in (SERVER_KEY, WRONG_SERVER_KEY, PRODUCTION_SERVER_KEY, project.sandbox_secret):
        assert secret not in text
    assert "Traceback" not in text
    assert row_count(app, Payment) == 0
    assert len(fake_midtrans.calls("POST", SNAP)) == reached


@pytest.mark.parametrize(("break_midtrans", "heal", "midtrans_says", "reached"), FAILURES)
def test_same_order_id_succeeds_once_midtrans_is_healthy_again(
    app, client, project, fake_midtrans, break_midtrans, heal, midtrans_says, reached
):
    break_midtrans(app, fake_midtrans)
    failed = client.post(CHECKOUT_URL, json=checkout_body(project))
    assert failed.status_code == 502
    heal(app, fake_midtrans)

    retry = client.post(CHECKOUT_URL, json=checkout_body(project))

    assert retry.status_code == 201, retry.get_json()
    assert retry.get_json()["order_id"] == "order-1"
    assert row_count(app, Payment) == 1
    snap_calls = fake_midtrans.calls("POST", SNAP)
    assert len(snap_calls) == reached + 1
    assert snap_calls[-1].body["transaction_details"]["order_id"] == retry.get_json()["purchase_id"]


def test_midtrans_timeout_is_enforced(app, client, project, fake_midtrans):
    slow_answer(app, fake_midtrans)
    started = time.monotonic()

    response = client.post(CHECKOUT_URL, json=checkout_body(project))

    assert response.status_code == 502
    assert response.get_json()["error"]["code"] == "upstream_error"
    assert time.monotonic() - started < 1.4  # the fake answers only after 1.5 s


@pytest.mark.parametrize(
    ("environment", "setting"),
    [
        ("sandbox", "MIDTRANS_SANDBOX_SERVER_KEY"),
        ("production", "MIDTRANS_PRODUCTION_SERVER_KEY"),
    ],
)
def test_environment_without_a_server_key_is_503_and_stores_nothing(
    app, client, project, fake_midtrans, environment, setting
):
    app.config[setting] = None

    response = client.post(CHECKOUT_URL, json=checkout_body(project, environment))

    assert response.status_code == 503
    error = response.get_json()["error"]
    assert error["code"] == "unavailable"
    assert error["message"]
    assert row_count(app, Payment) == 0
    assert fake_midtrans.calls("POST", SNAP) == []


def test_missing_server_key_of_one_environment_leaves_the_other_working(
    app, client, project, fake_midtrans
):
    app.config["MIDTRANS_PRODUCTION_SERVER_KEY"] = None

    response = client.post(CHECKOUT_URL, json=checkout_body(project, "sandbox"))

    assert response.status_code == 201
