"""Hostile input that no form or client of ours would send: NUL characters (PostgreSQL text
cannot hold one, so they used to fail deep in a query as a 500) and ids too large for the
database. Each is answered with a clear 4xx in the right shape and changes nothing; a Midtrans
notification carrying one is still stored first."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, urlencode

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from app.extensions import db
from app.models import (
    DeliveryStatus,
    EventType,
    Payment,
    PaymentEvent,
    Project,
    WebhookDelivery,
)
from app.services.outbox.events import new_delivery
from tests.helpers import (
    CHECKOUT_URL,
    VERIFY_URL,
    add_payment,
    checkout_body,
    create_payment,
    link,
    linked_ids,
    notification,
    row_count,
    text_of,
)
from tests.portal_client import csrf_token, post_form, post_with_token
from tests.webhook_flow import post_notification


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"buyer_name": "Sari\u0000"}, "buyer_name"),
        ({"item_name": "Nasi\u0000Goreng"}, "item_name"),
        ({"metadata": {"store_name": "Warung\u0000"}}, "metadata"),
        ({"metadata": {"store\u0000name": "Warung"}}, "metadata"),
    ],
)
def test_a_checkout_field_with_a_nul_is_refused_by_name_and_creates_nothing(
    app, client, project, fake_midtrans, fields, field
):
    response = client.post(CHECKOUT_URL, json=checkout_body(project, **fields))

    assert response.status_code == 400
    error = response.get_json()["error"]
    assert (error["code"], error["field"]) == ("invalid_request", field)
    assert "NUL" in error["message"]
    assert row_count(app, Payment) == 0
    assert not fake_midtrans.calls("POST", "/snap")


def test_a_client_id_with_a_nul_is_an_unknown_client(app, client, project, fake_midtrans):
    body = {**checkout_body(project), "client_id": project.sandbox_id + "\u0000"}

    response = client.post(CHECKOUT_URL, json=body)

    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "invalid_client"
    assert row_count(app, Payment) == 0


@pytest.mark.parametrize(
    "query",
    ["order_id=pur_%00", "order_id=INV%00-1", "order_id=INV-1&client_id=lk_test_%00"],
)
def test_verify_with_a_nul_in_the_query_is_a_400_in_the_envelope(client, query):
    response = client.get(f"{VERIFY_URL}?{query}")

    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "invalid_request" and "NUL" in error["message"]


@pytest.mark.parametrize(
    "path", ["/purchase/callback?order_id=pur_%00", "/pay/pur_%00", "/projects/%00"]
)
def test_pages_with_a_nul_in_the_url_are_a_400_page(client, path):
    response = client.get(path)

    assert response.status_code == 400
    assert "NUL" in response.get_data(as_text=True)


def test_log_in_and_register_with_a_nul_are_refused_and_create_nothing(app, client):
    from app.models import User

    logged = post_form(client, "/login", email="ani\u0000@example.com", password="x")
    registered = post_form(
        client,
        "/register",
        email="ani@example.com",
        password="panjang sekali\u0000",
        password_confirm="panjang sekali\u0000",
    )

    assert (logged.status_code, registered.status_code) == (400, 400)
    assert row_count(app, User) == 0


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("settings", "name"),
        ("settings", "store_url_template"),
        ("webhooks", "url"),
        ("deliveries/resend-failed", "since"),
    ],
)
def test_portal_forms_with_a_nul_are_refused_and_change_nothing(app, client, mine, path, field):
    response = post_with_token(
        client, f"/projects/{mine.project_id}/{path}?env=sandbox", **{field: "x\u0000"}
    )

    assert response.status_code == 400
    with app.app_context():
        assert db.session.get(Project, mine.project_id).name == "Warung Bu Sari"


@pytest.mark.parametrize(
    "path",
    [
        "payments?env=sandbox&q=INV%00",
        "payments?env=sandbox&after=%00",
        "deliveries?env=sandbox&status=%00",
        "deliveries/evt_%00?env=sandbox",
        "payments/pur_%00?env=sandbox",
    ],
)
def test_portal_pages_with_a_nul_in_the_query_or_path_are_400(client, mine, path):
    assert client.get(f"/projects/{mine.project_id}/{path}").status_code == 400


def test_revoking_a_secret_id_too_large_for_the_database_is_404(client, mine):
    response = post_with_token(client, f"/projects/{mine.project_id}/keys/{10**30}/revoke")

    assert response.status_code == 404


@pytest.mark.parametrize("field", ["order_id", "transaction_status", "fraud_status"])
def test_a_notification_with_a_nul_is_stored_then_refused_as_invalid(
    app, client, project, fake_midtrans, field
):
    purchase_id = create_payment(client, project)
    body = notification(purchase_id, "settlement", app.config["MIDTRANS_SANDBOX_SERVER_KEY"])
    body[field] += "\u0000"

    response = post_notification(client, body)

    assert response.status_code == 400
    with app.app_context():
        event = db.session.scalar(select(PaymentEvent).order_by(PaymentEvent.id.desc()))
        assert json.loads(event.raw_body)[field] == body[field]  # kept exactly as it came
        assert event.outcome == "invalid"
        status = db.session.scalar(select(Payment.status))
    assert status == "pending"


def test_a_notification_with_a_raw_nul_byte_is_still_stored(app, client):
    response = post_notification(client, b'{"order_id": "pur_x\x00"}')

    assert response.status_code == 400
    with app.app_context():
        event = db.session.scalar(select(PaymentEvent))
    assert event.raw_body == '{"order_id": "pur_x\ufffd"}'
    assert event.outcome == "invalid"


# -- JSON that Python parses but nothing after it can take ----------------------------------------


def _with_raw(body: dict, placeholder: str, raw: str) -> str:
    """The body as JSON text, with a placeholder string value replaced by raw JSON text."""
    return json.dumps(body).replace(json.dumps(placeholder), raw)


@pytest.mark.parametrize(
    ("make_body", "field"),
    [
        pytest.param(lambda keys: '{"a":' * 2000 + "1" + "}" * 2000, None, id="nested-2000-deep"),
        pytest.param(
            lambda keys: json.dumps(
                {
                    **checkout_body(keys),
                    "metadata": {
                        "x": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]
                    },
                }
            ),
            None,
            id="nested-34-deep-in-metadata",
        ),
        pytest.param(
            lambda keys: _with_raw(
                {**checkout_body(keys), "metadata": {"x": "NUMBER"}}, "NUMBER", "1e400"
            ),
            "metadata",
            id="1e400-is-infinity",
        ),
        pytest.param(
            lambda keys: _with_raw(
                {**checkout_body(keys), "client_secret": "SECRET"}, "SECRET", '"\\ud800"'
            ),
            "client_secret",
            id="lone-surrogate-in-a-credential",
        ),
        pytest.param(
            lambda keys: _with_raw(
                {**checkout_body(keys), "metadata": {"store_name": "NAME"}}, "NAME", '"\\udfff"'
            ),
            "metadata",
            id="lone-surrogate-in-metadata",
        ),
    ],
)
def test_json_nothing_downstream_could_hold_is_a_400_and_creates_nothing(
    app, client, project, fake_midtrans, make_body, field
):
    response = client.post(CHECKOUT_URL, data=make_body(project), content_type="application/json")

    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "invalid_request"
    assert error.get("field") == field
    assert row_count(app, Payment) == 0
    assert not fake_midtrans.calls("POST", "/snap")


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param('{"a":' * 975 + "1" + "}" * 975, id="nested-975-deep"),
        pytest.param('{"order_id": "\\ud800", "transaction_status": "settlement"}', id="surrogate"),
        pytest.param('{"order_id": "x", "gross_amount": 1e400}', id="1e400"),
    ],
)
def test_a_notification_nothing_downstream_could_hold_is_stored_then_refused(app, client, raw):
    response = post_notification(client, raw.encode())

    assert response.status_code == 400
    with app.app_context():
        [event] = db.session.scalars(select(PaymentEvent)).all()
        assert (event.outcome, event.payment_id) == ("invalid", None)
        assert event.raw_body == raw


def test_a_failed_statement_names_no_bound_value_in_its_error(app):
    # Tracebacks are logged: a buyer's email (or any value) must not travel with them.
    with app.app_context():
        with pytest.raises(DBAPIError) as failure:
            db.session.execute(
                text("SELECT * FROM no_such_table WHERE email = :value"),
                {"value": "ani@example.com"},
            )
        db.session.rollback()

    assert "ani@example.com" not in str(failure.value)


# -- dates and page cursors at the edge of the calendar -------------------------------------------

# 9999-12-31T23:59:59 UTC in microseconds since the Unix epoch, as the page cursors count.
LAST_SECOND = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC) - datetime(1970, 1, 1, tzinfo=UTC)
LAST_MICROS = LAST_SECOND // timedelta(microseconds=1)
FIRST_MICROS = (datetime(1, 1, 1, tzinfo=UTC) - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(
    microseconds=1
)


def _cursor(text: str) -> str:
    """A page cursor as the lists hand them out: url-safe base64 of "<micros>.<id>"."""
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


HOSTILE_CURSORS = [  # each a cursor for a row id: (row id) -> the text of the parameter
    pytest.param(lambda row_id: _cursor(f"{LAST_MICROS}.{row_id}"), id="9999-12-31T23:59:59"),
    pytest.param(
        lambda row_id: _cursor(f"{LAST_MICROS + 999_999}.{row_id}"), id="the-last-microsecond"
    ),
    pytest.param(lambda row_id: _cursor(f"{FIRST_MICROS}.{row_id}"), id="0001-01-01"),
    pytest.param(lambda row_id: _cursor(f"{LAST_MICROS * 10}.{row_id}"), id="year-beyond-9999"),
    pytest.param(lambda row_id: _cursor(f"{10**40}.{row_id}"), id="far-beyond-any-year"),
    pytest.param(lambda row_id: "%ED%A0%80", id="lone-surrogate-as-utf8"),
    pytest.param(
        lambda row_id: _cursor(f"1778000000000000.{row_id}") + "%ED%A0%80",
        id="cursor-and-a-surrogate",
    ),
]


@pytest.mark.parametrize("direction", ["after", "before"])
@pytest.mark.parametrize("cursor", HOSTILE_CURSORS)
def test_a_payments_page_link_at_the_edge_of_the_calendar_is_a_400_naming_it(
    app, client, mine, direction, cursor
):
    with app.app_context():
        listed = add_payment(mine.project_id, datetime(2026, 5, 5, 3, 0, tzinfo=UTC))
    query = f"env=sandbox&{direction}={cursor(1)}"

    response = client.get(f"/projects/{mine.project_id}/payments?{query}")

    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert f"That page link ({direction}) is not valid" in text_of(page)
    assert listed in page  # the newest payments, shown instead


@pytest.mark.parametrize("direction", ["after", "before"])
@pytest.mark.parametrize("cursor", HOSTILE_CURSORS)
def test_a_delivery_log_page_link_at_the_edge_of_the_calendar_is_a_400_naming_it(
    app, client, mine, direction, cursor
):
    query = f"env=sandbox&{direction}={cursor('evt_abc')}"

    response = client.get(f"/projects/{mine.project_id}/deliveries?{query}")

    assert response.status_code == 400
    assert f"{direction} is not a valid page link" in text_of(response)


def test_a_cursor_the_list_handed_out_still_pages(app, client, mine):
    # The guard refuses only what no row can have: an ordinary "Older" link still works.
    with app.app_context():
        for minute in range(51):
            add_payment(mine.project_id, datetime(2026, 5, 5, 3, minute, tzinfo=UTC))
    first = client.get(f"/projects/{mine.project_id}/payments?env=sandbox")

    older = client.get(link(first, rel="next"))

    assert older.status_code == 200
    assert len(linked_ids(older, "/payments/")) == 1


@pytest.mark.parametrize(
    ("query", "label"),
    [
        ("to=9999-12-31", "To"),  # the day after it cannot be represented
        ("from=0001-01-01", "From"),  # its WIB start is before year 1 in UTC
        ("from=0001-01-01&to=9999-12-31", "From"),
        ("to=0001-01-01", "To"),
        ("from=9999-12-31", "From"),
        ("from=10000-01-01", "From"),
        ("from=0000-12-31", "From"),
        ("to=-0001-01-01", "To"),
        ("from=1969-12-31", "From"),  # before the Unix epoch: no payment is that old
        ("from=%ED%A0%80", "From"),
        ("to=2026-05-05%ED%A0%80", "To"),
    ],
)
def test_a_date_filter_at_the_edge_of_the_calendar_is_a_400_naming_it(
    app, client, mine, query, label
):
    with app.app_context():
        listed = add_payment(mine.project_id, datetime(2026, 5, 5, 3, 0, tzinfo=UTC))

    response = client.get(f"/projects/{mine.project_id}/payments?env=sandbox&{query}")

    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert f"{label} must be a date as YYYY-MM-DD" in text_of(page)
    assert listed in page  # shown without the refused filter, as the message says


@pytest.mark.parametrize("query", ["from=2026-05-05%00", "to=%00", "after=%00", "before=x%00"])
def test_a_nul_in_a_date_filter_or_cursor_is_a_400(client, mine, query):
    for path in ("payments", "deliveries"):
        response = client.get(f"/projects/{mine.project_id}/{path}?env=sandbox&{query}")
        assert response.status_code == 400
        assert "NUL" in text_of(response)


def test_the_widest_representable_date_range_still_lists(app, client, mine):
    with app.app_context():
        listed = add_payment(mine.project_id, datetime(2026, 5, 5, 3, 0, tzinfo=UTC))

    response = client.get(
        f"/projects/{mine.project_id}/payments?env=sandbox&from=1970-01-02&to=9998-12-30"
    )

    assert response.status_code == 200
    assert listed in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "since",
    [
        "0001-01-01T00:00",  # read as WIB, it begins before year 1 in UTC
        "0001-01-01T03:00+05:00",
        "9999-12-31T23:59-10:00",  # after year 9999 in UTC
        "9999-12-31T23:59",
        "1969-12-31T23:00",
        "2026-05-05T08:00\udfff",
    ],
)
def test_resending_failed_deliveries_since_the_edge_of_the_calendar_is_refused(
    app, client, mine, since
):
    with app.app_context():
        failed = new_delivery(mine.project_id, "sandbox", EventType.TEST, {"event": "test.ping"})
        failed.status = DeliveryStatus.FAILED
        db.session.commit()
        failed_id = failed.id

    # Sent as a browser would send the bytes (a lone surrogate as its raw UTF-8 form).
    form = urlencode({"csrf_token": csrf_token(client, "/projects")})
    form += "&since=" + quote(since.encode("utf-8", "surrogatepass"))
    response = client.post(
        f"/projects/{mine.project_id}/deliveries/resend-failed?env=sandbox",
        data=form,
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 303
    shown = client.get(response.headers["Location"])
    assert "Enter the time to resend from" in text_of(shown)
    with app.app_context():
        assert db.session.get(WebhookDelivery, failed_id).status == DeliveryStatus.FAILED
