"""The merchant API's reads (SPEC §11.2): one payment, the list with every filter and its
keyset cursor, the statistics and the account; each scoped to the credential's project and
environment."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from app.clock import WIB, start_of_day_utc, today_wib
from app.extensions import db
from app.midtrans.timefmt import format_midtrans_time
from app.models import PaymentDayTotals
from app.models.base import utcnow
from tests.helpers import ISO_Z, create_payment, direct_payment
from tests.merchant_api import PAYMENTS_URL, api_get, api_post, paid_payment, payment_url, refund
from tests.webhook_flow import settle

PAYMENT_FIELDS = {
    "purchase_id", "order_id", "environment", "status", "amount", "refunded_amount", "currency",
    "item_id", "item_name", "quantity", "buyer_email", "buyer_name", "buyer_phone", "metadata",
    "payment_type", "payment_channel", "invoice_url", "return_url", "fulfilment_status",
    "created_at", "expires_at", "paid_at", "cancelled_at", "refunds",
}  # fmt: skip


def add_rows(app, project_id: str, rows: list[dict], environment: str = "sandbox") -> list[str]:
    """Payments added directly, each dict the fields of one (created_at required); their
    purchase_ids in the order given."""
    with app.app_context():
        payments = [
            direct_payment(project_id, fields.pop("created_at"), environment, **fields)
            for fields in rows
        ]
        db.session.add_all(payments)
        db.session.commit()
        return [payment.purchase_id for payment in payments]


def listed(client, project, environment: str = "sandbox", **params) -> list[str]:
    response = api_get(client, project, PAYMENTS_URL, environment, **params)
    assert response.status_code == 200, response.get_json()
    return [payment["purchase_id"] for payment in response.get_json()["data"]]


def refused(response, field: str) -> None:
    assert response.status_code == 400, response.get_json()
    error = response.get_json()["error"]
    assert (error["code"], error["field"]) == ("invalid_request", field)


# -- one payment -------------------------------------------------------------------------------


def test_one_payment_by_purchase_id_or_order_id_has_every_documented_field(
    app, client, project, fake_midtrans
):
    purchase_id = paid_payment(
        client, project, fake_midtrans, order_id="INV-0001", buyer_phone="+62 812-3456-789"
    )
    refund(client, project, purchase_id, amount=25000, reason="kembalian")

    by_id = api_get(client, project, payment_url(purchase_id))
    by_order = api_get(client, project, payment_url("INV-0001"))

    assert by_id.status_code == 200
    body = by_id.get_json()
    assert body == by_order.get_json()
    assert set(body) == PAYMENT_FIELDS
    assert body["purchase_id"] == purchase_id and body["order_id"] == "INV-0001"
    assert (body["environment"], body["status"], body["currency"]) == (
        "sandbox",
        "partial_refund",
        "IDR",
    )
    assert (body["amount"], body["refunded_amount"]) == (75000, 25000)
    assert (body["payment_type"], body["buyer_phone"]) == ("qris", "+62 812-3456-789")
    assert (body["item_id"], body["quantity"], body["fulfilment_status"]) == (
        "__direct__",
        1,
        "unfulfilled",
    )
    assert body["invoice_url"].endswith(f"/pay/{purchase_id}")
    assert ISO_Z.match(body["paid_at"]) and ISO_Z.match(body["created_at"])
    assert body["cancelled_at"] is None
    [given_back] = body["refunds"]
    assert (given_back["amount"], given_back["reason"], given_back["status"]) == (
        25000,
        "kembalian",
        "succeeded",
    )


def test_a_purchase_id_wins_over_an_order_id_that_looks_like_it(app, client, project):
    now = utcnow()
    first, second = add_rows(app, project.project_id, [{"created_at": now}, {"created_at": now}])
    with app.app_context():
        db.session.execute(
            db.text("UPDATE payments SET order_id = :first WHERE purchase_id = :second"),
            {"first": first, "second": second},
        )
        db.session.commit()

    assert api_get(client, project, payment_url(first)).get_json()["purchase_id"] == first


def test_every_new_endpoint_hides_other_tenants_and_the_other_environment(
    app, client, project, strangers, fake_midtrans
):
    purchase_id = paid_payment(client, project, fake_midtrans, order_id="INV-OWN")
    reads = [payment_url(purchase_id), payment_url("INV-OWN"), payment_url(purchase_id, "refunds")]
    writes = [
        (payment_url(purchase_id, "cancel"), None),
        (payment_url(purchase_id, "refunds"), {"amount": 1000}),
        (payment_url(purchase_id, "fulfilment"), {"status": "completed"}),
    ]

    for keys, environment in ((strangers, "sandbox"), (project, "production")):
        for path in reads:
            response = api_get(client, keys, path, environment)
            assert response.status_code == 404, path
            assert response.get_json()["error"]["code"] == "not_found"
        for path, body in writes:
            assert api_post(client, keys, path, body, environment).status_code == 404, path
        assert listed(client, keys, environment) == []
        stats = api_get(client, keys, "/api/platform/statistics", environment, period="all")
        assert stats.get_json()["total_paid"] == 0

    # Nothing of it changed.
    body = api_get(client, project, payment_url(purchase_id)).get_json()
    assert (body["status"], body["refunds"], body["fulfilment_status"]) == (
        "settlement",
        [],
        "unfulfilled",
    )


def test_reads_need_the_credential(client, project, purchase_id):
    for path in (PAYMENTS_URL, payment_url(purchase_id), "/api/platform/account"):
        assert client.get(path).status_code == 401
        wrong = {**project.auth(), "Authorization": "Basic bm9ib2R5Om5vdGhpbmc="}
        response = client.get(path, headers=wrong)
        assert response.status_code == 401
        assert response.get_json()["error"]["code"] == "invalid_client"


# -- the list ----------------------------------------------------------------------------------


def test_the_list_is_newest_first_twenty_by_default(app, client, project):
    start = utcnow() - timedelta(hours=30)
    ids = add_rows(
        app,
        project.project_id,
        [{"created_at": start + timedelta(minutes=n)} for n in range(25)],
    )

    response = api_get(client, project, PAYMENTS_URL)

    body = response.get_json()
    assert [payment["purchase_id"] for payment in body["data"]] == ids[::-1][:20]
    assert body["has_more"] is True and body["next_cursor"]
    assert set(body["data"][0]) == PAYMENT_FIELDS


@pytest.mark.parametrize("limit", [100, 7])
def test_a_cursor_walk_over_250_payments_returns_each_exactly_once(app, client, project, limit):
    start = utcnow() - timedelta(days=3)
    # Groups of five share one created_at: the id breaks the tie, nothing is skipped or repeated.
    ids = add_rows(
        app,
        project.project_id,
        [{"created_at": start + timedelta(seconds=n // 5)} for n in range(250)],
    )
    add_rows(app, project.project_id, [{"created_at": start}], environment="production")

    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": limit, **({"starting_after": cursor} if cursor else {})}
        body = api_get(client, project, PAYMENTS_URL, **params).get_json()
        seen += [payment["purchase_id"] for payment in body["data"]]
        pages += 1
        assert len(body["data"]) <= limit
        if not body["has_more"]:
            assert body["next_cursor"] is None
            break
        cursor = body["next_cursor"]

    assert seen == ids[::-1]
    assert pages == -(-250 // limit)


def test_a_payment_arriving_during_a_walk_does_not_disturb_the_pages_after(app, client, project):
    start = utcnow() - timedelta(hours=2)
    ids = add_rows(
        app, project.project_id, [{"created_at": start + timedelta(minutes=n)} for n in range(6)]
    )
    first = api_get(client, project, PAYMENTS_URL, limit=3).get_json()
    add_rows(app, project.project_id, [{"created_at": utcnow()}])

    rest = listed(client, project, limit=3, starting_after=first["next_cursor"])

    assert rest == ids[::-1][3:]


def test_the_status_filter_takes_one_or_several_statuses(app, client, project):
    now = utcnow()
    pending, paid, refunded, expired = add_rows(
        app,
        project.project_id,
        [
            {"created_at": now - timedelta(minutes=4), "status": "pending"},
            {"created_at": now - timedelta(minutes=3), "status": "settlement"},
            {"created_at": now - timedelta(minutes=2), "status": "refund"},
            {"created_at": now - timedelta(minutes=1), "status": "expire"},
        ],
    )

    assert listed(client, project, status="settlement") == [paid]
    assert listed(client, project, status="settlement,refund") == [refunded, paid]
    assert listed(client, project, status="pending, expire") == [expired, pending]
    assert listed(client, project, status="cancel") == []


def test_created_dates_are_whole_wib_days_and_datetimes_keep_their_zone(app, client, project):
    # 2026-11-30 23:59:59 WIB and 2026-12-01 00:00:00 WIB, one second apart.
    late = datetime(2026, 11, 30, 16, 59, 59, tzinfo=UTC)
    early = datetime(2026, 11, 30, 17, 0, 0, tzinfo=UTC)
    last_of_november, first_of_december = add_rows(
        app, project.project_id, [{"created_at": late}, {"created_at": early}]
    )

    assert listed(client, project, created_from="2026-12-01") == [first_of_december]
    assert listed(client, project, created_to="2026-11-30") == [last_of_november]
    both = listed(client, project, created_from="2026-11-30", created_to="2026-12-01")
    assert both == [first_of_december, last_of_november]
    # created_to includes the moment it names; a zone other than Z counts too.
    assert listed(client, project, created_to="2026-11-30T16:59:59Z") == [last_of_november]
    assert listed(client, project, created_from="2026-12-01T00:00:00+07:00") == [first_of_december]


def test_order_id_buyer_email_and_item_id_filters_match_whole_values(app, client, project):
    now = utcnow()
    mine, other = add_rows(
        app,
        project.project_id,
        [
            {"created_at": now, "order_id": "INV-9", "buyer_email": "Sari@Example.com"},
            {"created_at": now, "order_id": "INV-90", "buyer_email": "sari@example.co"},
        ],
    )

    assert listed(client, project, order_id="INV-9") == [mine]
    assert listed(client, project, buyer_email="sari@EXAMPLE.com") == [mine]
    assert listed(client, project, buyer_email="sari") == []
    assert sorted(listed(client, project, item_id="__direct__")) == sorted([mine, other])
    assert listed(client, project, item_id="itm_nothing") == []
    assert listed(client, project, order_id="INV-9", status="settlement") == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "101"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"limit": "-1"}, "limit"),
        ({"status": "paid"}, "status"),
        ({"status": "settlement,"}, "status"),
        ({"created_from": "2026-13-01"}, "created_from"),
        ({"created_from": "2026-12-01T10:00:00"}, "created_from"),  # no zone
        ({"created_to": "yesterday"}, "created_to"),
        ({"created_to": "0001-01-01"}, "created_to"),
        ({"starting_after": "not-a-cursor"}, "starting_after"),
        ({"order_id": "x" * 300}, "order_id"),
        ({"page": "2"}, "page"),
    ],
)
def test_a_bad_list_parameter_is_refused_by_name_never_clamped(client, project, params, field):
    refused(api_get(client, project, PAYMENTS_URL, **params), field)


def test_a_payment_still_being_created_is_never_listed(app, client, project):
    [creating] = add_rows(app, project.project_id, [{"created_at": utcnow(), "status": "creating"}])

    assert listed(client, project) == []
    assert api_get(client, project, payment_url(creating)).status_code == 404


# -- statistics --------------------------------------------------------------------------------


def test_statistics_count_created_and_paid_and_break_paid_down_by_type(
    app, client, project, fake_midtrans
):
    qris = paid_payment(client, project, fake_midtrans, order_id="A")
    paid_payment(client, project, fake_midtrans, payment_type="gopay", order_id="B")
    paid_payment(client, project, fake_midtrans, order_id="C")
    create_payment(client, project, order_id="D")  # pending: created, not paid
    refund(client, project, qris, amount=5000)
    # Last year: outside every period but "all".
    old = utcnow() - timedelta(days=400)
    add_rows(
        app,
        project.project_id,
        [{"created_at": old, "status": "settlement", "paid_at": old, "amount": 20000}],
    )

    today = api_get(client, project, "/api/platform/statistics", period="today").get_json()
    everything = api_get(client, project, "/api/platform/statistics", period="all").get_json()

    assert today["period"] == "today" and today["from"] == today["to"]
    assert (today["total_transactions"], today["total_paid"]) == (4, 3)
    assert (today["total_amount"], today["total_refunded"]) == (225000, 5000)
    assert today["breakdown"] == {
        "gopay": {"count": 1, "amount": 75000},
        "qris": {"count": 2, "amount": 150000},
    }
    assert (everything["from"], everything["to"]) == (None, None)
    assert (everything["total_transactions"], everything["total_paid"]) == (5, 4)
    assert everything["total_amount"] == 245000
    week = api_get(client, project, "/api/platform/statistics", period="week").get_json()
    first, last = datetime.fromisoformat(week["from"]), datetime.fromisoformat(week["to"])
    assert (last - first).days == 6 and week["total_paid"] == 3


def test_statistics_of_closed_days_are_stored_and_a_later_refund_of_one_still_counts(
    app, client, project, fake_midtrans
):
    """A closed day is counted once and stored with its refunds and payment types; a refund
    of one of its payments days later (the real refund path) shows in the next answer."""
    three_days_ago = start_of_day_utc(today_wib() - timedelta(days=3)) + timedelta(hours=10)
    with time_machine.travel(three_days_ago):
        purchase_id = create_payment(client, project, order_id="OLD")
    settle(
        client,
        fake_midtrans,
        purchase_id,
        payment_type="qris",
        settlement_time=format_midtrans_time(three_days_ago),
    )
    paid_payment(client, project, fake_midtrans, payment_type="gopay", order_id="NEW")

    before = api_get(client, project, "/api/platform/statistics", period="week").get_json()
    with app.app_context():
        stored = stored_day(project.project_id, three_days_ago)
    refund(client, project, purchase_id, amount=5000)
    after = api_get(client, project, "/api/platform/statistics", period="all").get_json()
    with app.app_context():
        restored = stored_day(project.project_id, three_days_ago)

    assert (before["total_transactions"], before["total_paid"], before["total_refunded"]) == (
        2,
        2,
        0,
    )
    assert before["breakdown"] == {
        "gopay": {"count": 1, "amount": 75000},
        "qris": {"count": 1, "amount": 75000},
    }
    assert (stored.valid, stored.paid, stored.refunded) == (True, 1, 0)
    assert stored.breakdown == {"qris": [1, 75000]}
    assert (after["total_paid"], after["total_amount"], after["total_refunded"]) == (
        2,
        150000,
        5000,
    )
    assert (restored.valid, restored.refunded) == (True, 5000)
    assert restored.version > stored.version  # the refund invalidated it


def test_statistics_read_a_stored_day_instead_of_counting_it_again(app, client, project):
    long_ago = utcnow() - timedelta(days=200)
    add_rows(
        app,
        project.project_id,
        [
            {
                "created_at": long_ago,
                "status": "settlement",
                "paid_at": long_ago,
                "amount": 20000,
                "midtrans_payment_type": "bank_transfer",
            }
        ],
    )
    first = api_get(client, project, "/api/platform/statistics", period="all").get_json()
    with app.app_context():  # changed behind Lunas's back: the stored day is what is read
        db.session.execute(db.text("UPDATE payments SET amount = 1"))
        db.session.commit()
    second = api_get(client, project, "/api/platform/statistics", period="all").get_json()
    year = api_get(client, project, "/api/platform/statistics", period="year").get_json()

    assert first["total_amount"] == second["total_amount"] == year["total_amount"] == 20000
    assert second["breakdown"] == {"bank_transfer": {"count": 1, "amount": 20000}}


def test_statistics_of_a_project_without_payments_are_zero(client, project):
    everything = api_get(client, project, "/api/platform/statistics", period="all").get_json()
    assert everything == {
        "period": "all",
        "from": None,
        "to": None,
        "total_transactions": 0,
        "total_paid": 0,
        "total_amount": 0,
        "total_refunded": 0,
        "breakdown": {},
    }


def stored_day(project_id: str, moment: datetime) -> PaymentDayTotals:
    return db.session.get(PaymentDayTotals, (project_id, "sandbox", moment.astimezone(WIB).date()))


def test_statistics_refuse_an_unknown_period_or_parameter(client, project):
    refused(api_get(client, project, "/api/platform/statistics", period="decade"), "period")
    refused(api_get(client, project, "/api/platform/statistics", since="2026-01-01"), "since")


# -- account -----------------------------------------------------------------------------------


def test_the_account_names_the_project_its_webhook_and_what_buyers_can_pay_with(
    app, client, project
):
    body = api_get(client, project, "/api/platform/account").get_json()

    assert body["project"] == {"id": project.project_id, "name": "Warung Bu Sari"}
    assert body["environment"] == "sandbox"
    assert body["webhook"]["events"] == ["item.purchased", "payment.refunded", "payment.reversed"]
    assert body["midtrans"] == {"configured": True}
    assert {"qris", "other_qris", "bca_va", "credit_card", "indomaret"} <= set(
        body["payment_methods"]
    )
    production = api_get(client, project, "/api/platform/account", "production").get_json()
    assert production["environment"] == "production"
