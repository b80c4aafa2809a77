"""Notifications whose signature never verified are kept apart: stored first like every
request, on no payment's timeline and no merchant's page, listed for operators at
/admin/notifications/unverified (a 404 for everyone else), and purged by the worker after
UNVERIFIED_EVENT_RETENTION_DAYS. Verified ones are linked to their payment and kept."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from flask_migrate import upgrade
from sqlalchemy import select, text

from app import create_app
from app.extensions import db
from app.models import PaymentEvent, User
from app.models.base import utcnow
from app.services.checkout import unverified
from app.worker import Maintenance
from tests.conftest import BACKEND, PG_DATABASE, PG_SERVER, SERVER_KEY, _admin
from tests.helpers import (
    add_payment,
    create_payment,
    event_rows,
    invoke,
    link,
    new_project,
    new_user,
    notification,
    payment_row,
    soup,
    text_of,
)
from tests.portal_client import log_in
from tests.webhook_flow import midtrans_moves, post_notification, settle

ADMIN_PAGE = "/admin/notifications/unverified"
FORGED_KEY = "SB-Mid-server-forged-key"
T0 = datetime(2026, 5, 5, 3, 0, tzinfo=UTC)


# -- helpers --------------------------------------------------------------------------------------


@pytest.fixture
def operator(app):
    """A second browser, signed in as an operator made with the CLI (as in production)."""
    return sign_in_operator(app)


def sign_in_operator(app):
    with app.app_context():
        new_user("operator@example.com")
    result = invoke(app, "users", "promote", "--email", "operator@example.com")
    assert result.exit_code == 0, result.output
    browser = app.test_client()
    log_in(browser, "operator@example.com")
    return browser


def payment_page(client, project_id: str, purchase_id: str) -> str:
    response = client.get(f"/projects/{project_id}/payments/{purchase_id}?env=sandbox")
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def admin_page(browser, path: str = ADMIN_PAGE) -> str:
    response = browser.get(path)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def listed_events(page: str) -> list[dict[str, str]]:
    """The operator page's rows, as the operator reads them."""
    rows = []
    for row in soup(page).select("table.unverified-events tbody tr"):
        cells = [" ".join(cell.get_text(" ").split()) for cell in row.find_all("td")]
        body = row.select_one("pre.raw")
        rows.append(
            {
                "id": row["id"].removeprefix("event-"),
                "received": cells[0],
                "from": cells[1],
                "claimed": cells[2],
                "outcome": cells[3],
                "detail": cells[4],
                "body": body.get_text() if body else "",
            }
        )
    return rows


def timeline_bodies(page: str) -> list[str]:
    return [pre.get_text() for pre in soup(page).select("ol.timeline pre.raw")]


def add_event(app, received_at: datetime, raw_body: str = "{}", **fields) -> int:
    with app.app_context():
        event = PaymentEvent(
            source="notification", raw_body=raw_body, headers={}, received_at=received_at, **fields
        )
        db.session.add(event)
        db.session.commit()
        return event.id


def payment_id_of(app, purchase_id: str) -> int:
    return payment_row(app, purchase_id)["id"]


# -- kept apart -----------------------------------------------------------------------------------


def test_a_forged_notification_naming_a_real_purchase_is_on_no_merchant_page(
    app, client, mine, fake_midtrans
):
    purchase_id = create_payment(client, mine)
    forged = notification(purchase_id, "settlement", FORGED_KEY, custom_field1="forged-marker")

    response = post_notification(client, forged)

    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "invalid_signature"
    [event] = event_rows(app)
    assert (event["outcome"], event["payment_id"]) == ("rejected", None)
    assert event["claimed_order_id"] == purchase_id
    assert event["raw_body"] == json.dumps(forged)  # still stored first, as it came
    page = payment_page(client, mine.project_id, purchase_id)
    assert "Midtrans notification" not in page
    assert "forged-marker" not in page and "rejected" not in page
    assert "Nothing has happened to this payment yet." in text_of(page)


def test_the_operator_sees_a_forged_notification_with_what_it_claimed(
    app, client, clock, fake_midtrans, purchase_id
):
    clock.move_to(datetime(2026, 11, 22, 10, 0, 5, tzinfo=UTC))
    forged = notification(
        purchase_id, "settlement", FORGED_KEY, custom_field1="<script>alert(1)</script>"
    )
    post_notification(client, forged)

    page = admin_page(sign_in_operator(app))

    [row] = listed_events(page)
    assert row["received"].startswith("2026-11-22 17:00:") and row["received"].endswith("WIB")
    assert row["from"] == "127.0.0.1"
    assert row["claimed"] == purchase_id
    assert row["outcome"] == "rejected answered HTTP 403"
    assert row["detail"] == "signature_key does not match"
    assert json.loads(row["body"]) == forged  # pretty-printed, and the whole of it
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert" not in page


def test_a_correctly_signed_notification_is_linked_and_shown_to_the_merchant_only(
    app, client, mine, fake_midtrans, operator
):
    purchase_id = create_payment(client, mine)

    settle(client, fake_midtrans, purchase_id)

    [event] = event_rows(app)
    assert event["payment_id"] == payment_id_of(app, purchase_id)
    assert event["claimed_order_id"] == purchase_id
    page = payment_page(client, mine.project_id, purchase_id)
    assert page.count("Midtrans notification") == 1 and 'pill-applied">applied' in page
    assert listed_events(admin_page(operator)) == []
    assert "No unverified notifications." in text_of(admin_page(operator))


def test_a_forged_notification_after_a_real_one_leaves_the_timeline_as_it_was(
    app, client, mine, fake_midtrans, operator
):
    purchase_id = create_payment(client, mine)
    settle(client, fake_midtrans, purchase_id)
    before = timeline_bodies(payment_page(client, mine.project_id, purchase_id))

    post_notification(client, notification(purchase_id, "refund", FORGED_KEY))

    assert timeline_bodies(payment_page(client, mine.project_id, purchase_id)) == before
    assert [row["claimed"] for row in listed_events(admin_page(operator))] == [purchase_id]


def _unknown_order(purchase_id: str) -> str:
    return json.dumps(notification("pur_doesnotexist0000000000", "settlement", SERVER_KEY))


def _malformed(purchase_id: str) -> str:
    return '{"order_id": "' + purchase_id + '", "transaction_status": '


def _unsigned(purchase_id: str) -> str:
    body = notification(purchase_id, "settlement", SERVER_KEY)
    del body["signature_key"]
    return json.dumps(body)


@pytest.mark.parametrize(
    ("build", "http_status", "outcome", "claims"),
    [
        pytest.param(
            _unknown_order, 404, "unknown_order", "pur_doesnotexist0000000000", id="unknown"
        ),
        pytest.param(_malformed, 400, "invalid", None, id="malformed"),
        pytest.param(_unsigned, 400, "invalid", "purchase", id="no-signature"),
    ],
)
def test_what_is_not_a_verified_notification_is_on_no_payment(
    app, client, fake_midtrans, purchase_id, operator, build, http_status, outcome, claims
):
    response = post_notification(client, build(purchase_id))

    assert response.status_code == http_status
    [event] = event_rows(app)
    assert (event["outcome"], event["payment_id"]) == (outcome, None)
    expected_claim = purchase_id if claims == "purchase" else claims
    assert event["claimed_order_id"] == expected_claim
    [row] = listed_events(admin_page(operator))
    assert row["outcome"] == f"{outcome} answered HTTP {http_status}"
    assert row["claimed"] == (expected_claim or "—")


def test_a_notification_that_could_not_be_checked_for_want_of_a_key_is_on_no_payment(
    app, client, mine, fake_midtrans, operator
):
    purchase_id = create_payment(client, mine)
    app.config["MIDTRANS_SANDBOX_SERVER_KEY"] = None

    response = post_notification(client, notification(purchase_id, "settlement", SERVER_KEY))

    assert response.status_code == 503
    [event] = event_rows(app)
    assert (event["outcome"], event["payment_id"]) == ("unavailable", None)
    assert "Midtrans notification" not in payment_page(client, mine.project_id, purchase_id)
    assert [row["claimed"] for row in listed_events(admin_page(operator))] == [purchase_id]


def test_a_signed_notification_refused_for_its_status_code_stays_on_its_payment(
    app, client, fake_midtrans, purchase_id, operator
):
    # Midtrans signed it (only its status was edited): it belongs to this payment's history.
    app.config["MIDTRANS_CONFIRM_STATUS"] = False

    response = post_notification(
        client, notification(purchase_id, "settlement", SERVER_KEY, status_code="201")
    )

    assert response.status_code == 400
    [event] = event_rows(app)
    assert (event["outcome"], event["payment_id"]) == ("rejected", payment_id_of(app, purchase_id))
    assert listed_events(admin_page(operator)) == []


# -- operators only -------------------------------------------------------------------------------

ADMIN_PATHS = ["/admin", "/admin/", ADMIN_PAGE, f"{ADMIN_PAGE}?after=x", "/admin/no-such-page"]


def _unknown_url(client, method: str):
    return client.open("/no-such-page", method=method)


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("path", ADMIN_PATHS)
def test_anonymous_visitors_get_the_404_of_an_unknown_url(app, client, path, method):
    add_event(app, T0, claimed_order_id="pur_claimed")

    response = client.open(path, method=method)

    unknown = _unknown_url(client, method)
    assert response.status_code == unknown.status_code == 404
    assert response.get_data() == unknown.get_data()
    assert "pur_claimed" not in response.get_data(as_text=True)


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("path", ADMIN_PATHS)
def test_a_signed_in_merchant_gets_the_404_of_an_unknown_url(app, client, mine, path, method):
    add_event(app, T0, claimed_order_id="pur_claimed")

    response = client.open(path, method=method)

    unknown = _unknown_url(client, method)
    assert response.status_code == unknown.status_code == 404
    assert response.get_data() == unknown.get_data()
    # and every path under /admin answers alike, headers included (no page is told apart)
    elsewhere = client.open("/admin/no-such-page", method=method)
    assert headers_but_the_cookie(response) == headers_but_the_cookie(elsewhere)


def headers_but_the_cookie(response) -> list[tuple[str, str]]:
    # The session cookie is signed afresh on every answer (its timestamp may differ), and each
    # answer has a request id of its own.
    own = {"Set-Cookie", "X-Request-ID"}
    return sorted((name, value) for name, value in response.headers if name not in own)


def test_an_operator_sees_the_index_and_an_unknown_admin_path_is_still_404(app, operator):
    index = admin_page(operator, "/admin/")

    assert link(index, "Unverified notifications") == ADMIN_PAGE
    assert operator.get("/admin/no-such-page").status_code == 404
    assert operator.post(ADMIN_PAGE).status_code == 404


def test_the_operator_page_carries_the_security_headers(app, operator):
    response = operator.get(ADMIN_PAGE)

    assert response.headers["Cache-Control"] == "no-store"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


# -- paging ---------------------------------------------------------------------------------------


def test_the_operator_pages_through_unverified_events_newest_first(app, client, operator):
    size = unverified.PAGE_SIZE
    ids = [
        add_event(app, T0 + timedelta(minutes=n), claimed_order_id=f"pur_{n}")
        for n in range(size + 1)
    ]
    with app.app_context():
        payment = add_payment(new_project().project_id, T0)
    # a verified event, newer than all of them, is never listed
    add_event(app, T0 + timedelta(days=1), payment_id=payment_id_of(app, payment))

    first = admin_page(operator)
    second = admin_page(operator, link(first, "Older"))
    back = admin_page(operator, link(second, "Newer"))

    newest_first = [str(event_id) for event_id in reversed(ids)]
    assert [row["id"] for row in listed_events(first)] == newest_first[:size]
    assert [row["id"] for row in listed_events(second)] == newest_first[size:]
    assert listed_events(back) == listed_events(first)
    assert link(second, "Older") is None


def test_a_stale_page_link_shows_the_newest_page_with_a_warning(app, operator):
    add_event(app, T0, claimed_order_id="pur_only")

    page = admin_page(operator, f"{ADMIN_PAGE}?after={'A' * 500}")

    assert "not valid" in text_of(page)
    assert [row["claimed"] for row in listed_events(page)] == ["pur_only"]


# -- purge ----------------------------------------------------------------------------------------


def test_the_worker_purges_old_unverified_events_and_keeps_young_and_verified_ones(
    app, client, clock, fake_midtrans, purchase_id
):
    # given, a week and a half ago: a forged and a genuine notification
    assert (
        post_notification(client, notification(purchase_id, "pending", FORGED_KEY)).status_code
        == 403
    )
    assert midtrans_moves(client, fake_midtrans, purchase_id, "pending").status_code == 200
    clock.shift(timedelta(days=2))
    # and, five and a half days ago, another forgery
    post_notification(client, notification(purchase_id, "settlement", FORGED_KEY))
    [old_forged, genuine, young_forged] = [row["id"] for row in event_rows(app)]
    clock.shift(timedelta(days=5, hours=12))

    Maintenance(app).purge()

    assert [row["id"] for row in event_rows(app)] == [genuine, young_forged]
    assert old_forged not in [row["id"] for row in event_rows(app)]


def test_the_retention_is_the_configured_number_of_days(app):
    app.config["UNVERIFIED_EVENT_RETENTION_DAYS"] = 30
    now = utcnow()
    kept = add_event(app, now - timedelta(days=29))
    add_event(app, now - timedelta(days=31))

    Maintenance(app).purge()

    assert [row["id"] for row in event_rows(app)] == [kept]


def test_a_purge_pass_deletes_in_bounded_batches(app, monkeypatch):
    monkeypatch.setattr(unverified, "PURGE_BATCH", 2)
    monkeypatch.setattr(unverified, "PURGE_BATCHES_PER_PASS", 2)
    for n in range(5):
        add_event(app, T0 + timedelta(minutes=n))

    with app.app_context():
        first, second = unverified.purge_unverified(), unverified.purge_unverified()

    assert (first, second) == (4, 1)
    assert event_rows(app) == []


# -- stored bodies never break a page -------------------------------------------------------------

HOSTILE_BODIES = [
    pytest.param('{"a":' * 975 + "1" + "}" * 975, id="nested-975-deep"),
    pytest.param("[" * 20000, id="unclosed-20000-deep"),
    pytest.param('{"order_id": "\\ud800"}', id="escaped-lone-surrogate"),
    pytest.param('{"gross_amount": 1e400}', id="1e400"),
    pytest.param('{"gross_amount": ' + "9" * 5000 + "}", id="5000-digit-number"),
    pytest.param('{"order_id": "pur_x", "transaction_status": ', id="cut-off"),
    pytest.param("NaN", id="nan"),
    pytest.param('"' + '\\"' * 30000, id="unterminated-escapes"),
]


@pytest.mark.parametrize("raw", HOSTILE_BODIES)
def test_a_stored_body_of_any_shape_is_shown_as_it_came_on_the_payment_page(app, client, mine, raw):
    with app.app_context():
        purchase_id = add_payment(mine.project_id, T0)
    add_event(app, T0, raw, payment_id=payment_id_of(app, purchase_id))

    started = time.monotonic()
    page = payment_page(client, mine.project_id, purchase_id)

    assert time.monotonic() - started < 5
    assert timeline_bodies(page) == [raw]


@pytest.mark.parametrize("raw", HOSTILE_BODIES)
def test_a_stored_body_of_any_shape_is_shown_as_it_came_on_the_operator_page(app, operator, raw):
    add_event(app, T0, raw, outcome="invalid")

    page = admin_page(operator)

    [row] = listed_events(page)
    shown = raw[: unverified.BODY_EXCERPT]
    assert row["body"] == (shown + " …" if len(raw) > len(shown) else shown)


def test_a_notification_with_an_unterminated_string_is_refused_at_once(app, client):
    # 64 KB of \" once took a CPU 20 seconds to measure before it could be refused.
    raw = '"' + '\\"' * (32 * 1024 - 1)

    started = time.monotonic()
    response = post_notification(client, raw)

    assert response.status_code == 400
    assert time.monotonic() - started < 2


# -- the CLI --------------------------------------------------------------------------------------


def test_users_promote_makes_an_operator_who_sees_the_admin_pages(app):
    with app.app_context():
        user_id = new_user("ani@example.com").id
    browser = app.test_client()
    log_in(browser, "ani@example.com")
    assert browser.get(ADMIN_PAGE).status_code == 404

    result = invoke(app, "users", "promote", "--email", "Ani@Example.com")

    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {
        "user": {"id": user_id, "email": "ani@example.com", "is_operator": True}
    }
    assert browser.get(ADMIN_PAGE).status_code == 200


def test_users_promote_refuses_an_unknown_email(app):
    result = invoke(app, "users", "promote", "--email", "nobody@example.com")

    assert result.exit_code != 0
    assert "no user with email" in result.output
    with app.app_context():
        assert db.session.scalar(select(User).where(User.is_operator)) is None


def test_users_create_with_operator_makes_an_operator(app):
    result = invoke(
        app,
        "users",
        "create",
        "--email",
        "op@example.com",
        "--password",
        "s3cret-pass",
        "--operator",
    )

    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document == {
        "user": {"id": document["user"]["id"], "email": "op@example.com", "is_operator": True}
    }
    with app.app_context():
        assert db.session.get(User, document["user"]["id"]).is_operator is True


def test_users_create_without_operator_makes_no_operator(app):
    result = invoke(app, "users", "create", "--email", "m@example.com", "--password", "s3cret-pass")

    assert result.exit_code == 0, result.output
    assert "is_operator" not in json.loads(result.output)["user"]
    with app.app_context():
        assert db.session.scalar(select(User.is_operator)) is False


# -- the migration's data fix ---------------------------------------------------------------------


@pytest.fixture
def scratch_database_url(tmp_path):
    """An empty database of the run's backend, for a migration to build step by step."""
    if BACKEND == "sqlite":
        yield f"sqlite:///{tmp_path / 'scratch.db'}"
        return
    name = f"{PG_DATABASE}_scratch"
    with _admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    yield f"{PG_SERVER.replace('postgresql://', 'postgresql+psycopg://')}/{name}"
    with _admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_migration_0008_takes_old_forged_events_off_their_payments(
    app_environ, scratch_database_url
):
    scratch = create_app({**app_environ, "DATABASE_URL": scratch_database_url})
    with scratch.app_context():
        upgrade(revision="0007")
        for statement in (
            "INSERT INTO users (id, email, password_hash, created_at)"
            " VALUES (1, 'a@example.com', 'x', '2026-01-01 00:00:00+00:00')",
            "INSERT INTO projects (id, owner_id, name, created_at)"
            " VALUES ('prj_1', 1, 'P', '2026-01-01 00:00:00+00:00')",
            "INSERT INTO payments (id, purchase_id, project_id, environment, order_id, amount,"
            " currency, buyer_email, metadata, status, expires_at, created_at, updated_at)"
            " VALUES (7, 'pur_seven', 'prj_1', 'sandbox', 'INV-7', 1000, 'IDR', 'b@example.com',"
            " '{}', 'pending', '2026-01-02 00:00:00+00:00', '2026-01-01 00:00:00+00:00',"
            " '2026-01-01 00:00:00+00:00')",
        ):
            db.session.execute(text(statement))
        events = [  # id, outcome, http_status
            (1, "rejected", 403),  # a forged signature
            (2, "unavailable", 503),  # never checked: no server key
            (3, "applied", 200),  # genuine
            (4, "rejected", 400),  # signed, its status_code did not fit its status
        ]
        for event_id, outcome, http_status in events:
            db.session.execute(
                text(
                    "INSERT INTO payment_events (id, payment_id, source, received_at, raw_body,"
                    " headers, outcome, http_status) VALUES (:id, 7, 'notification',"
                    " '2026-01-01 00:00:00+00:00', '{}', '{}', :outcome, :http_status)"
                ),
                {"id": event_id, "outcome": outcome, "http_status": http_status},
            )
        db.session.commit()

        upgrade(revision="0008")

        rows = db.session.execute(
            text("SELECT id, payment_id, claimed_order_id FROM payment_events ORDER BY id")
        ).all()
        db.session.remove()
        db.engine.dispose()
    assert [tuple(row) for row in rows] == [
        (1, None, "pur_seven"),
        (2, None, "pur_seven"),
        (3, 7, None),
        (4, 7, None),
    ]
