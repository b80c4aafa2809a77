"""POST /api/platform/shop-payment: every input rule the README documents, and the error envelope.

A refused request leaves nothing behind: no payment row and no call to Midtrans.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import requests
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from app.extensions import db
from app.models import Payment
from tests.conftest import PRODUCTION_SERVER_KEY, SERVER_KEY
from tests.helpers import (
    CHECKOUT_URL,
    SNAP,
    ProjectKeys,
    basic_auth,
    checkout_body,
    row_count,
    without,
)

MAX_BODY = 64 * 1024
INTERNALS = ("Traceback", 'File "', "sqlalchemy", "psycopg", "sqlite3", "SELECT ", "INSERT ")


def email_of_length(length: int) -> str:
    """A syntactically valid address of exactly `length` characters (64-char local part)."""
    last_label = length - len("@.com") - 64 - 2 * 64
    return f"{'a' * 64}@{'b' * 63}.{'c' * 63}.{'d' * last_label}.com"


def padded_body(keys: ProjectKeys, size: int) -> bytes:
    """A valid checkout body padded with JSON whitespace to exactly `size` bytes."""
    data = json.dumps(checkout_body(keys)).encode()
    return data[:-1] + b" " * (size - len(data)) + b"}"


def payments(app) -> list[Payment]:
    with app.app_context():
        return list(db.session.scalars(select(Payment)))


def assert_error(
    response, status: int, code: str, field: str | None, keys: ProjectKeys
) -> dict[str, str]:
    """The one envelope, with nothing internal or secret in it; returns the error object."""
    text = response.get_data(as_text=True)
    assert response.status_code == status, text
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert list(body) == ["error"]
    error = body["error"]
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"]
    if field is None:
        assert set(error) == {"code", "message"}
    else:
        assert set(error) == {"code", "message", "field"} and error["field"] == field
    for internal in INTERNALS:
        assert internal not in text
    for secret in (keys.sandbox_secret, keys.production_secret, SERVER_KEY, PRODUCTION_SERVER_KEY):
        assert secret not in text
    return error


def assert_nothing_happened(app, fake_midtrans) -> None:
    assert row_count(app, Payment) == 0
    assert fake_midtrans.calls("POST", SNAP) == []


# -- amount --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "amount",
    [0, -1, -75000, 1_000_000_000_000, "75000", 75000.0, True, False, None, [75000]],
    ids=repr,
)
def test_amount_that_is_not_an_integer_in_range_is_rejected(
    app, client, project, fake_midtrans, amount
):
    response = client.post(CHECKOUT_URL, json=checkout_body(project, amount=amount))

    assert_error(response, 400, "invalid_request", "amount", project)
    assert_nothing_happened(app, fake_midtrans)


def test_missing_amount_is_rejected_as_required(app, client, project, fake_midtrans):
    response = client.post(CHECKOUT_URL, json=without(checkout_body(project), "amount"))

    error = assert_error(response, 400, "invalid_request", "amount", project)
    assert "required" in error["message"]
    assert_nothing_happened(app, fake_midtrans)


@pytest.mark.parametrize("amount", [1, 999_999_999_999])
def test_amount_at_either_bound_is_accepted_and_sent_unchanged(
    app, client, project, fake_midtrans, amount
):
    response = client.post(CHECKOUT_URL, json=checkout_body(project, amount=amount))

    assert response.status_code == 201, response.get_json()
    assert response.get_json()["amount"] == amount
    [snap] = fake_midtrans.calls("POST", SNAP)
    assert snap.body["transaction_details"]["gross_amount"] == amount
    assert snap.body["item_details"][0]["price"] == amount
    assert [payment.amount for payment in payments(app)] == [amount]


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_json_amount_is_rejected(app, client, project, fake_midtrans, token):
    body = json.dumps(checkout_body(project, amount=0)).replace('"amount": 0', f'"amount": {token}')
    assert token in body

    response = client.post(CHECKOUT_URL, data=body, content_type="application/json")

    # A parser may refuse the whole document or name the field: both are a fitting 400.
    field = response.get_json()["error"].get("field")
    assert field in (None, "amount")
    assert_error(response, 400, "invalid_request", field, project)
    assert_nothing_happened(app, fake_midtrans)


# -- order_id ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "order_id",
    [
        "",
        "x" * 51,
        "order 1",
        " order-1",
        "order#1",
        "order/1",
        "../order-1",
        "order?1",
        "order%201",
        "order+1",
        "order@1",
        "pesanan-ü",
        "订单-1",
        "order-1\n",
        12345,
        None,
    ],
    ids=repr,
)
def test_order_id_outside_the_allowed_alphabet_or_length_is_rejected(
    app, client, project, fake_midtrans, order_id
):
    response = client.post(CHECKOUT_URL, json=checkout_body(project, order_id=order_id))

    assert_error(response, 400, "invalid_request", "order_id", project)
    assert_nothing_happened(app, fake_midtrans)


def test_missing_order_id_is_rejected_as_required(app, client, project, fake_midtrans):
    response = client.post(CHECKOUT_URL, json=without(checkout_body(project), "order_id"))

    error = assert_error(response, 400, "invalid_request", "order_id", project)
    assert "required" in error["message"]
    assert_nothing_happened(app, fake_midtrans)


@pytest.mark.parametrize(
    "order_id",
    ["x" * 50, "A", "Z9", "-", "_", ".", "~", "INV-2026_05.06~a", "550e8400-e29b-41d4-a716"],
)
def test_order_id_of_allowed_characters_is_accepted_and_echoed(
    app, client, project, fake_midtrans, order_id
):
    response = client.post(CHECKOUT_URL, json=checkout_body(project, order_id=order_id))

    assert response.status_code == 201, response.get_json()
    assert response.get_json()["order_id"] == order_id
    assert [payment.order_id for payment in payments(app)] == [order_id]


# -- buyer_email, buyer_name, item_name ----------------------------------------------------


@pytest.mark.parametrize(
    "buyer_email",
    [
        "",
        "not-an-email",
        "buyer@",
        "@example.com",
        "buyer@@example.com",
        "buyer example@example.com",
        "buyer@example",
        "buyer@localhost",
        email_of_length(255),
        email_of_length(300),
        42,
        None,
        ["buyer@example.com"],
    ],
    ids=lambda value: repr(value)[:40],
)
def test_invalid_buyer_email_is_rejected(app, client, project, fake_midtrans, buyer_email):
    response = client.post(CHECKOUT_URL, json=checkout_body(project, buyer_email=buyer_email))

    assert_error(response, 400, "invalid_request", "buyer_email", project)
    assert_nothing_happened(app, fake_midtrans)


def test_missing_buyer_email_is_rejected_as_required(app, client, project, fake_midtrans):
    response = client.post(CHECKOUT_URL, json=without(checkout_body(project), "buyer_email"))

    error = assert_error(response, 400, "invalid_request", "buyer_email", project)
    assert "required" in error["message"]
    assert_nothing_happened(app, fake_midtrans)


def test_buyer_email_of_254_characters_is_accepted(app, client, project, fake_midtrans):
    address = email_of_length(254)
    assert len(address) == 254

    response = client.post(CHECKOUT_URL, json=checkout_body(project, buyer_email=address))

    assert response.status_code == 201, response.get_json()
    assert [payment.buyer_email for payment in payments(app)] == [address]


@pytest.mark.parametrize("buyer_name", ["x" * 101, 42, ["Siti"], {"first": "Siti"}], ids=repr)
def test_buyer_name_that_is_not_a_string_of_at_most_100_is_rejected(
    app, client, project, fake_midtrans, buyer_name
):
    response = client.post(CHECKOUT_URL, json=checkout_body(project, buyer_name=buyer_name))

    assert_error(response, 400, "invalid_request", "buyer_name", project)
    assert_nothing_happened(app, fake_midtrans)


def test_buyer_name_of_100_characters_is_accepted(app, client, project, fake_midtrans):
    name = ("Siti Rahmawati " * 7)[:100]

    response = client.post(CHECKOUT_URL, json=checkout_body(project, buyer_name=name))

    assert response.status_code == 201, response.get_json()
    assert [payment.buyer_name for payment in payments(app)] == [name]
    assert fake_midtrans.calls("POST", SNAP)[0].body["customer_details"]["first_name"] == name


@pytest.mark.parametrize("item_name", ["x" * 201, 42, ["Nasi Goreng"]], ids=repr)
def test_item_name_that_is_not_a_string_of_at_most_200_is_rejected(
    app, client, project, fake_midtrans, item_name
):
    response = client.post(CHECKOUT_URL, json=checkout_body(project, item_name=item_name))

    assert_error(response, 400, "invalid_request", "item_name", project)
    assert_nothing_happened(app, fake_midtrans)


def test_item_name_of_200_characters_is_kept_whole_and_cut_to_50_only_for_midtrans(
    app, client, project, fake_midtrans
):
    item_name = "".join(f"Nasi Goreng {n:03d} " for n in range(20))[:200]
    assert len(item_name) == 200

    response = client.post(CHECKOUT_URL, json=checkout_body(project, item_name=item_name))

    assert response.status_code == 201, response.get_json()
    assert [payment.item_name for payment in payments(app)] == [item_name]
    [snap] = fake_midtrans.calls("POST", SNAP)
    assert snap.body["item_details"][0]["name"] == item_name[:50]


# -- metadata ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "metadata",
    [
        pytest.param([], id="array"),
        pytest.param("store=warung", id="string"),
        pytest.param(7, id="number"),
        pytest.param(True, id="boolean"),
        pytest.param({f"k{n}": n for n in range(51)}, id="51-keys"),
        pytest.param({"k" * 41: "v"}, id="41-char-key"),
        pytest.param({"": "v"}, id="empty-key"),
        pytest.param({"note": "x" * 501}, id="501-char-value"),
        pytest.param({"cart": {"sku": "A1"}}, id="nested-object"),
        pytest.param({"skus": ["A1", "B2"]}, id="nested-array"),
        pytest.param({"store_slug": "Warung-Bu-Sari"}, id="slug-uppercase"),
        pytest.param({"store_slug": "warung/bu-sari"}, id="slug-slash"),
        pytest.param({"store_slug": ".."}, id="slug-dotdot"),
        pytest.param({"store_slug": "a" * 65}, id="slug-65-chars"),
        pytest.param({"store_slug": ""}, id="slug-empty"),
        pytest.param({"store_slug": "warung_bu_sari"}, id="slug-underscore"),
        pytest.param({"store_slug": "warung bu sari"}, id="slug-space"),
        pytest.param({"store_slug": "https://evil.example"}, id="slug-url"),
        pytest.param({"store_slug": 42}, id="slug-number"),
    ],
)
def test_metadata_breaking_a_rule_is_rejected(app, client, project, fake_midtrans, metadata):
    response = client.post(CHECKOUT_URL, json=checkout_body(project, metadata=metadata))

    assert_error(response, 400, "invalid_request", "metadata", project)
    assert_nothing_happened(app, fake_midtrans)


@pytest.mark.parametrize(
    "metadata",
    [
        pytest.param({}, id="empty"),
        pytest.param({f"k{n}": n for n in range(50)}, id="50-keys"),
        pytest.param({"k" * 40: "v", "x": "v"}, id="40-char-key"),
        pytest.param({"note": "x" * 500}, id="500-char-value"),
        pytest.param(
            {"none": None, "count": 3, "price": 12.5, "gift": True, "paid": False, "neg": -1},
            id="null-number-bool",
        ),
        pytest.param(
            {"store_slug": "warung-bu-sari-2", "store_name": "Warung Bu Sari", "product_id": "p1"},
            id="meaningful-keys",
        ),
        pytest.param({"store_slug": "a" * 64}, id="slug-64-chars"),
    ],
)
def test_metadata_within_the_rules_is_accepted_and_stored_untouched(
    app, client, project, fake_midtrans, metadata
):
    response = client.post(CHECKOUT_URL, json=checkout_body(project, metadata=metadata))

    assert response.status_code == 201, response.get_json()
    assert [payment.metadata_ for payment in payments(app)] == [metadata]


def test_null_metadata_is_the_same_as_none(app, client, project, fake_midtrans):
    response = client.post(CHECKOUT_URL, json=checkout_body(project, metadata=None))

    assert response.status_code == 201, response.get_json()
    assert [payment.metadata_ for payment in payments(app)] == [{}]


# -- the body as a whole -------------------------------------------------------------------


@pytest.mark.parametrize("name", ["amout", "currency", "callback_url", "client_secrets", "Amount"])
def test_unknown_top_level_field_is_rejected_by_name(app, client, project, fake_midtrans, name):
    response = client.post(CHECKOUT_URL, json={**checkout_body(project), name: "x"})

    error = assert_error(response, 400, "invalid_request", name, project)
    assert name in error["message"]
    assert_nothing_happened(app, fake_midtrans)


@pytest.mark.parametrize(
    "raw",
    [b"", b"not json", b"{", b'{"amount": 75000,}', b"{'amount': 75000}", b"\xff\xfe\x00"],
    ids=repr,
)
def test_body_that_is_not_json_is_rejected(app, client, project, fake_midtrans, raw):
    response = client.post(CHECKOUT_URL, data=raw, content_type="application/json")

    assert_error(response, 400, "invalid_request", None, project)
    assert_nothing_happened(app, fake_midtrans)


@pytest.mark.parametrize("document", ["[]", '[{"amount": 75000}]', '"order-1"', "75000", "null"])
def test_json_that_is_not_an_object_is_rejected(app, client, project, fake_midtrans, document):
    response = client.post(CHECKOUT_URL, data=document, content_type="application/json")

    assert_error(response, 400, "invalid_request", None, project)
    assert_nothing_happened(app, fake_midtrans)


def test_json_array_holding_a_valid_checkout_is_rejected(app, client, project, fake_midtrans):
    response = client.post(CHECKOUT_URL, json=[checkout_body(project)])

    assert_error(response, 400, "invalid_request", None, project)
    assert_nothing_happened(app, fake_midtrans)


@pytest.mark.parametrize(
    "content_type",
    [
        None,
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/xml",
    ],
)
def test_body_not_sent_as_application_json_is_415(
    app, client, project, fake_midtrans, content_type
):
    data = json.dumps(checkout_body(project))
    headers = {} if content_type is None else {"Content-Type": content_type}

    response = client.post(CHECKOUT_URL, data=data, headers=headers)

    assert_error(response, 415, "unsupported_media_type", None, project)
    assert_nothing_happened(app, fake_midtrans)


def test_application_json_with_a_charset_is_accepted(app, client, project, fake_midtrans):
    response = client.post(
        CHECKOUT_URL,
        data=json.dumps(checkout_body(project)),
        content_type="application/json; charset=utf-8",
    )

    assert response.status_code == 201, response.get_json()


def test_body_over_64_kb_is_413(app, client, project, fake_midtrans):
    response = client.post(
        CHECKOUT_URL, data=padded_body(project, MAX_BODY + 1), content_type="application/json"
    )

    assert_error(response, 413, "payload_too_large", None, project)
    assert_nothing_happened(app, fake_midtrans)


def test_body_of_exactly_64_kb_is_accepted(app, client, project, fake_midtrans):
    response = client.post(
        CHECKOUT_URL, data=padded_body(project, MAX_BODY), content_type="application/json"
    )

    assert response.status_code == 201, response.get_json()


def chunks(data: bytes, size: int = 8192) -> Iterator[bytes]:
    """A generator body: requests sends it chunked, without a Content-Length."""
    for start in range(0, len(data), size):
        yield data[start : start + size]


@pytest.mark.parametrize("size", [MAX_BODY + 1, MAX_BODY + 4096])
def test_chunked_body_over_64_kb_is_413(app, project, fake_midtrans, live_server, size):
    response = requests.post(
        f"{live_server}{CHECKOUT_URL}",
        data=chunks(padded_body(project, size)),
        headers={"Content-Type": "application/json"},
        timeout=10,
    )

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    assert_nothing_happened(app, fake_midtrans)


@pytest.mark.parametrize("size", [1024, MAX_BODY])
def test_chunked_body_up_to_64_kb_is_accepted(app, project, fake_midtrans, live_server, size):
    response = requests.post(
        f"{live_server}{CHECKOUT_URL}",
        data=chunks(padded_body(project, size)),
        headers={"Content-Type": "application/json"},
        timeout=10,
    )

    assert response.status_code == 201, response.text


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE"])
def test_other_methods_are_405_in_the_envelope(app, client, project, fake_midtrans, method):
    response = client.open(CHECKOUT_URL, method=method, json=checkout_body(project))

    assert_error(response, 405, "method_not_allowed", None, project)
    assert "POST" in response.headers["Allow"]
    assert_nothing_happened(app, fake_midtrans)


# -- credentials ---------------------------------------------------------------------------


WRONG_CREDENTIALS = [
    pytest.param(lambda keys: {}, id="missing"),
    pytest.param(lambda keys: {"client_id": keys.sandbox_id}, id="only-client-id"),
    pytest.param(lambda keys: {"client_secret": keys.sandbox_secret}, id="only-client-secret"),
    pytest.param(lambda keys: {"client_id": "", "client_secret": ""}, id="empty-strings"),
    pytest.param(lambda keys: {"client_id": None, "client_secret": None}, id="nulls"),
    pytest.param(
        lambda keys: {"client_id": keys.sandbox_id, "client_secret": "sk_test_" + "x" * 48},
        id="wrong-secret",
    ),
    pytest.param(
        lambda keys: {"client_id": keys.sandbox_id, "client_secret": keys.sandbox_secret + "x"},
        id="secret-with-an-extra-character",
    ),
    pytest.param(
        lambda keys: {"client_id": keys.sandbox_id, "client_secret": keys.sandbox_secret[:-1]},
        id="secret-missing-a-character",
    ),
    pytest.param(
        lambda keys: {"client_id": "lk_test_" + "u" * 24, "client_secret": keys.sandbox_secret},
        id="unknown-client-id",
    ),
    pytest.param(
        lambda keys: {"client_id": keys.sandbox_id, "client_secret": keys.production_secret},
        id="sandbox-id-production-secret",
    ),
    pytest.param(
        lambda keys: {"client_id": keys.production_id, "client_secret": keys.sandbox_secret},
        id="production-id-sandbox-secret",
    ),
]


BASIC_CASES = {
    "wrong-secret",
    "unknown-client-id",
    "sandbox-id-production-secret",
    "production-id-sandbox-secret",
}


@pytest.mark.parametrize("credentials", WRONG_CREDENTIALS)
def test_request_without_valid_body_credentials_is_401(
    app, client, project, fake_midtrans, credentials
):
    body = {**without(checkout_body(project), "client_id", "client_secret"), **credentials(project)}

    response = client.post(CHECKOUT_URL, json=body)

    assert_error(response, 401, "invalid_client", None, project)
    assert_nothing_happened(app, fake_midtrans)


@pytest.mark.parametrize(
    "credentials",
    [param for param in WRONG_CREDENTIALS if param.id in BASIC_CASES],
)
def test_request_with_wrong_basic_credentials_is_401(
    app, client, project, fake_midtrans, credentials
):
    body = without(checkout_body(project), "client_id", "client_secret")
    pair = credentials(project)

    response = client.post(
        CHECKOUT_URL, json=body, headers=basic_auth(pair["client_id"], pair["client_secret"])
    )

    assert_error(response, 401, "invalid_client", None, project)
    assert_nothing_happened(app, fake_midtrans)


@pytest.mark.parametrize(
    "authorization",
    ["Bearer sk_test_whatever", "Basic", "Basic !!!not-base64!!!", "Basic " + "bGtfdGVzdF94Og=="],
    ids=["bearer", "basic-empty", "basic-garbage", "basic-empty-secret"],
)
def test_unusable_authorization_header_is_401(app, client, project, fake_midtrans, authorization):
    body = without(checkout_body(project), "client_id", "client_secret")

    response = client.post(CHECKOUT_URL, json=body, headers={"Authorization": authorization})

    assert_error(response, 401, "invalid_client", None, project)
    assert_nothing_happened(app, fake_midtrans)


def test_credentials_in_both_body_and_basic_are_400(app, client, project, fake_midtrans):
    response = client.post(
        CHECKOUT_URL,
        json=checkout_body(project),
        headers=basic_auth(project.sandbox_id, project.sandbox_secret),
    )

    assert_error(response, 400, "invalid_request", None, project)
    assert_nothing_happened(app, fake_midtrans)


@pytest.mark.parametrize("value", [123, ["lk_test_x"], {"id": "lk_test_x"}, True], ids=repr)
@pytest.mark.parametrize("name", ["client_id", "client_secret"])
def test_non_string_credential_is_400_naming_it(app, client, project, fake_midtrans, name, value):
    response = client.post(CHECKOUT_URL, json=checkout_body(project, **{name: value}))

    assert_error(response, 400, "invalid_request", name, project)
    assert_nothing_happened(app, fake_midtrans)


@pytest.mark.parametrize(
    "invalid_fields",
    [
        {"amount": -1},
        {"order_id": "no spaces"},
        {"buyer_email": "nope"},
        {"surprise": True},
        {"metadata": []},
    ],
    ids=lambda fields: next(iter(fields)),
)
def test_credentials_are_checked_before_the_fields(
    app, client, project, fake_midtrans, invalid_fields
):
    body = checkout_body(project, client_secret="sk_test_" + "x" * 48, **invalid_fields)

    response = client.post(CHECKOUT_URL, json=body)

    assert_error(response, 401, "invalid_client", None, project)
    assert_nothing_happened(app, fake_midtrans)


@pytest.mark.parametrize(
    ("failure", "status", "code"),
    [
        # A bug: 500, and nothing of it in the answer.
        (
            lambda project: KeyError(f"snap_token {project.sandbox_secret} {SERVER_KEY}"),
            500,
            "internal_error",
        ),
        # The database went away mid-request: 503, try again (never 500), nothing leaked either.
        (
            lambda project: OperationalError(
                "SELECT * FROM payments WHERE order_id = %(order_id)s",
                {"order_id": "order-1", "secret": project.sandbox_secret},
                Exception(f"server closed the connection unexpectedly {SERVER_KEY}"),
            ),
            503,
            "unavailable",
        ),
    ],
    ids=["a-bug", "database-away"],
)
def test_an_unexpected_failure_answers_without_trace_sql_or_secret(
    app, client, project, fake_midtrans, monkeypatch, failure, status, code
):
    def broken_checkout(api_client, request):
        raise failure(project)

    monkeypatch.setattr("app.api.routes.create_checkout", broken_checkout)

    response = client.post(CHECKOUT_URL, json=checkout_body(project))

    assert_error(response, status, code, None, project)
    assert "payments" not in response.get_data(as_text=True)
    assert_nothing_happened(app, fake_midtrans)
