"""SPEC §12's rate limits: per proven credential on the platform API, per address and order
id (and per address) on verify, per address and email on login, per address on register;
never on the Midtrans notification endpoint; RateLimit-* headers on every answer of a limited
route, Retry-After on a 429; Redis away → requests pass and a warning is logged."""

from __future__ import annotations

import logging

import pytest

from app.models import PaymentStatus
from tests.conftest import SERVER_KEY
from tests.helpers import (
    TEST_PASSWORD,
    basic_auth,
    create_payment,
    new_user,
    notification,
    payment_rows,
    set_status,
)
from tests.portal_client import csrf_token

RATE_HEADERS = ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset")


def account(client, keys, environment="sandbox", secret=None):
    body = keys.body(environment)
    headers = basic_auth(body["client_id"], secret or body["client_secret"])
    return client.get("/api/platform/account", headers=headers)


def verify(client, order_id, address="203.0.113.7"):
    return client.get(
        "/api/platform/shop-payment/verify",
        query_string={"order_id": order_id},
        environ_base={"REMOTE_ADDR": address},
    )


@pytest.fixture
def limits(app_environ, redis_conn):
    """Small limits; Redis emptied first so no earlier run's counters count."""
    app_environ.update(
        RATE_LIMIT_API_SANDBOX="3/minute",
        RATE_LIMIT_API_PRODUCTION="5/minute",
        RATE_LIMIT_VERIFY="2/minute",
        RATE_LIMIT_VERIFY_ADDRESS="4/minute",
        RATE_LIMIT_LOGIN="2/minute",
        RATE_LIMIT_REGISTER="2/minute",
    )


@pytest.mark.usefixtures("limits")
def test_the_api_is_limited_per_credential_with_headers_and_a_429_in_the_envelope(
    client, project, strangers
):
    answers = [account(client, project) for _ in range(4)]

    assert [answer.status_code for answer in answers] == [200, 200, 200, 429]
    assert [answer.headers["RateLimit-Remaining"] for answer in answers] == ["2", "1", "0", "0"]
    assert {answer.headers["RateLimit-Limit"] for answer in answers} == {"3"}
    assert all(0 <= int(answer.headers["RateLimit-Reset"]) <= 60 for answer in answers)
    refused = answers[3]
    assert refused.get_json()["error"]["code"] == "rate_limited"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert "Retry-After" not in answers[0].headers
    # Another merchant, and this merchant's production credential, count on their own.
    assert account(client, strangers).status_code == 200
    production = account(client, project, "production")
    assert production.status_code == 200
    assert production.headers["RateLimit-Limit"] == "5"


@pytest.mark.usefixtures("limits")
def test_a_wrong_secret_spends_nothing_of_the_merchants_budget(client, project):
    for _ in range(6):
        assert account(client, project, secret="sk_test_wrong").status_code == 401

    first = account(client, project)
    assert first.status_code == 200
    assert first.headers["RateLimit-Remaining"] == "2"


@pytest.mark.usefixtures("limits")
def test_a_refused_call_changes_nothing(app, client, project, fake_midtrans):
    for _ in range(3):
        account(client, project)
    body = {**project.body(), "amount": 10000, "order_id": "LIMIT-1", "buyer_email": "a@b.co"}

    refused = client.post("/api/platform/shop-payment", json=body)

    assert refused.status_code == 429
    assert refused.get_json()["error"]["code"] == "rate_limited"
    assert fake_midtrans.requests == []
    assert payment_rows(app) == []


@pytest.mark.usefixtures("limits")
def test_verify_is_limited_per_address_and_order_id_then_per_address(
    client, project, fake_midtrans
):
    purchase_ids = [create_payment(client, project, order_id=f"V-{n}") for n in range(3)]

    same_order = [verify(client, purchase_ids[0]) for _ in range(3)]
    assert [answer.status_code for answer in same_order] == [200, 200, 429]
    assert same_order[2].get_json()["error"]["code"] == "rate_limited"
    assert "Retry-After" in same_order[2].headers
    # Another buyer behind another address polls the same order freely.
    assert verify(client, purchase_ids[0], address="198.51.100.9").status_code == 200
    # Same address, other orders: the address's own limit (4) is next.
    other = [verify(client, purchase_ids[1]), verify(client, purchase_ids[2])]
    assert [answer.status_code for answer in other] == [200, 429]
    assert all(name in other[0].headers for name in RATE_HEADERS)


def _log_in(client, email, password=None, address="203.0.113.7"):
    token = csrf_token(client, "/login")
    return client.post(
        "/login",
        data={"csrf_token": token, "email": email, "password": password or "not it"},
        environ_base={"REMOTE_ADDR": address},
    )


@pytest.mark.usefixtures("limits")
def test_login_is_limited_per_address_and_email_never_locking_out_another_email(app, client):
    with app.app_context():
        new_user("owner@example.com")

    guesses = [_log_in(client, "victim@example.com") for _ in range(3)]
    assert [answer.status_code for answer in guesses] == [200, 200, 429]
    assert "Too many attempts" in guesses[2].get_data(as_text=True)
    assert "RateLimit-Limit" in guesses[0].headers
    # The same address, the owner's own email and correct password: in.
    own = _log_in(client, "Owner@Example.com", password=TEST_PASSWORD)
    assert own.status_code == 302
    # Showing the form is never limited.
    assert client.get("/login").status_code in (200, 302)


@pytest.mark.usefixtures("limits")
def test_register_is_limited_per_address(client):
    def register(email):
        token = csrf_token(client, "/register")
        return client.post(
            "/register",
            data={"csrf_token": token, "email": email, "password": "a long enough passphrase"},
            environ_base={"REMOTE_ADDR": "203.0.113.8"},
        )

    answers = [register(f"u{number}") for number in range(3)]  # invalid emails: nothing made

    assert [answer.status_code for answer in answers] == [200, 200, 429]


@pytest.fixture
def redis_away(app_environ, limits):
    app_environ["REDIS_URL"] = "redis://127.0.0.1:1/0"  # nothing listens there


@pytest.mark.usefixtures("redis_away")
def test_with_redis_away_requests_pass_and_a_warning_is_logged(client, project, caplog):
    caplog.set_level(logging.WARNING)

    answers = [account(client, project) for _ in range(5)]
    polls = [verify(client, "pur_unknown") for _ in range(5)]

    assert [answer.status_code for answer in answers] == [200] * 5
    assert [answer.status_code for answer in polls] == [404] * 5
    assert not any("RateLimit-Limit" in answer.headers for answer in answers + polls)
    warnings = [r for r in caplog.records if "rate limit storage unreachable" in r.getMessage()]
    assert len(warnings) >= 10
    assert {record.levelno for record in warnings} == {logging.WARNING}
    assert not any(record.exc_info for record in warnings)


@pytest.mark.usefixtures("limits")
def test_a_burst_of_1000_midtrans_notifications_is_never_limited(
    app, client, project, fake_midtrans
):
    app.config["MIDTRANS_CONFIRM_STATUS"] = False
    purchase_id = create_payment(client, project)
    set_status(app, purchase_id, PaymentStatus.SETTLEMENT)
    body = notification(purchase_id, "settlement", SERVER_KEY, gross_amount="10000.00")

    answers = [
        client.post(
            "/api/midtrans/notification", json=body, environ_base={"REMOTE_ADDR": "103.10.128.1"}
        )
        for _ in range(1000)
    ]

    assert {answer.status_code for answer in answers} == {200}
    assert not any("RateLimit-Limit" in answer.headers for answer in answers)
