"""The portal's payments list, payment detail and overview:
filters and search, WIB day boundaries, keyset pagination, the merged timeline, the per-day
numbers, and that nobody sees another tenant's (or another environment's) payments."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event

from app.clock import WIB, start_of_day_utc, today_wib
from app.extensions import db
from app.models import Payment
from app.services.reporting import overview as reports
from tests.helpers import add_payment, create_payment, link, linked_ids, notification, soup
from tests.portal_client import log_in
from tests.receiver import MerchantReceiver, Reply
from tests.webhook_flow import (
    attempt_delivery,
    delivery_rows,
    point_webhooks_at,
    post_notification,
    settle,
    wait_for_retry,
)

T0 = datetime(2026, 5, 5, 3, 0, tzinfo=UTC)


def listed(page: str) -> list[str]:
    """The purchase ids the page links to, in order."""
    return linked_ids(page, "/payments/")


@pytest.fixture
def owner(client, project):
    log_in(client)
    return project.project_id


@pytest.fixture
def other_project(strangers) -> str:
    return strangers.project_id


def get(client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


# -- the list -----------------------------------------------------------------------------------


def test_the_list_shows_this_project_environment_only_and_never_creating_rows(
    app, client, owner, other_project
):
    with app.app_context():
        mine = add_payment(owner, T0, status="settlement")
        production = add_payment(owner, T0, environment="production")
        add_payment(owner, T0, status="creating")
        theirs = add_payment(other_project, T0, buyer_email="buyer@example.com")

    sandbox_page = get(client, f"/projects/{owner}/payments")
    production_page = get(client, f"/projects/{owner}/payments?env=production")

    assert listed(sandbox_page) == [mine]
    assert listed(production_page) == [production]
    assert theirs not in sandbox_page + production_page
    assert 'class="pill pill-settlement"' in sandbox_page
    assert 'style="' not in sandbox_page  # CSP: style-src 'self'


def test_filters_and_search_each_narrow_the_list(app, client, owner, other_project):
    with app.app_context():
        settled = add_payment(
            owner, T0, status="settlement", order_id="A-1", buyer_email="Ani@X.id"
        )
        pending = add_payment(owner, T0 + timedelta(minutes=1), order_id="pur_lookalike")
        refunded = add_payment(owner, T0 + timedelta(minutes=2), status="refund")
        add_payment(other_project, T0, status="settlement", order_id="A-1", buyer_email="ani@x.id")
    base = f"/projects/{owner}/payments"

    assert listed(get(client, f"{base}?status=settlement")) == [settled]
    assert listed(get(client, f"{base}?status=refund")) == [refunded]
    assert listed(get(client, f"{base}?q=A-1")) == [settled]
    assert listed(get(client, f"{base}?q=ANI@x.ID")) == [settled]  # email: any case
    assert listed(get(client, f"{base}?q={refunded}")) == [refunded]
    assert listed(get(client, f"{base}?q=pur_lookalike")) == [pending]  # an order id like pur_
    assert listed(get(client, f"{base}?q=A-")) == []  # whole values only
    assert listed(get(client, f"{base}?q=ani")) == []
    assert listed(get(client, f"{base}?q=A-1&status=pending")) == []


def test_the_date_range_is_wib_days_inclusive(app, client, owner):
    may5 = datetime(2026, 5, 5, tzinfo=WIB)
    with app.app_context():
        early = add_payment(owner, datetime(2026, 5, 4, 17, 0, tzinfo=UTC))  # 5 May 00:00 WIB
        late = add_payment(owner, datetime(2026, 5, 5, 16, 30, tzinfo=UTC))  # 5 May 23:30 WIB
        edge = add_payment(owner, datetime(2026, 5, 5, 16, 59, 59, 999999, tzinfo=UTC))
        next_day = add_payment(owner, datetime(2026, 5, 5, 17, 0, tzinfo=UTC))  # 6 May 00:00
        before = add_payment(owner, datetime(2026, 5, 4, 16, 59, 59, tzinfo=UTC))
    base = f"/projects/{owner}/payments"

    assert start_of_day_utc(may5.date()) == datetime(2026, 5, 4, 17, 0, tzinfo=UTC)
    assert listed(get(client, f"{base}?from=2026-05-05&to=2026-05-05")) == [edge, late, early]
    assert listed(get(client, f"{base}?from=2026-05-06")) == [next_day]
    assert listed(get(client, f"{base}?to=2026-05-04")) == [before]
    assert "23:30 WIB" in get(client, f"{base}?q={late}")


def test_pagination_walks_every_row_once_in_order_even_with_equal_times(app, client, owner):
    with app.app_context():
        for index in range(123):
            # Runs of five share one created_at: only the id tells them apart.
            status = "settlement" if index % 3 else "expire"
            add_payment(owner, T0 + timedelta(seconds=index // 5), status=status)
        rows = db.session.execute(
            db.select(Payment.purchase_id, Payment.status).order_by(
                Payment.created_at.desc(), Payment.id.desc()
            )
        ).all()

    for query, expected in (
        ("", [row.purchase_id for row in rows]),
        ("&status=settlement", [row.purchase_id for row in rows if row.status == "settlement"]),
    ):
        pages = [get(client, f"/projects/{owner}/payments?env=sandbox{query}")]
        while link(pages[-1], rel="next"):
            assert "status=settlement" in link(pages[-1], rel="next") or not query
            pages.append(get(client, link(pages[-1], rel="next")))
        seen = [purchase_id for page in pages for purchase_id in listed(page)]
        assert seen == expected
        assert [len(listed(page)) for page in pages[:-1]] == [50] * (len(pages) - 1)
        # …and back again with "Newer": the same pages in reverse.
        back = [pages[-1]]
        while link(back[-1], rel="prev"):
            back.append(get(client, link(back[-1], rel="prev")))
        assert [listed(page) for page in back] == [listed(page) for page in reversed(pages)]


@pytest.mark.parametrize(
    "query",
    [
        "after=garbage",
        "after=MTIzNA",  # base64 of "1234": no id
        "after=OTk5OTk5OTk5OTk5OTk5OTk5OS4x",  # a time far beyond datetime's range
        "before=%ff%fe",
        "after=" + "A" * 500,
        "status=creating",
        "status=%3Cscript%3E",
        "from=2026-02-30&to=yesterday",
        "from=0001-01-01&to=9999-12-31",
        "from=2026-05-06&to=2026-05-01",
        "q=%01",  # a control character (NUL itself is a 400: test_hostile_input)
        "q=" + "x" * 300,
    ],
)
def test_malformed_cursors_and_filters_never_fail(app, client, owner, query):
    with app.app_context():
        add_payment(owner, T0)
    response = client.get(f"/projects/{owner}/payments?{query}")
    assert response.status_code == 400  # refused, and the page says which one
    page = response.get_data(as_text=True)
    assert 'class="warning"' in page
    assert "<script>" not in page


# -- the detail ---------------------------------------------------------------------------------


def test_the_detail_shows_the_whole_timeline(app, client, owner, project, fake_midtrans, clock):
    with MerchantReceiver([Reply(500)], default=Reply(200)) as receiver:
        point_webhooks_at(app, project, receiver.url)
        purchase_id = create_payment(client, project, metadata={"store_slug": "warung-bu-sari"})
        settle(client, fake_midtrans, purchase_id, custom_field="<b>bold</b>")
        forged = notification(purchase_id, "settlement", "SB-Mid-server-forged-key")
        post_notification(client, forged)
        [delivery] = delivery_rows(app)
        assert attempt_delivery(app, delivery["id"]) == "pending"
        wait_for_retry(clock, app, delivery["id"])
        assert attempt_delivery(app, delivery["id"]) == "delivered"

    page = get(client, f"/projects/{owner}/payments/{purchase_id}")

    assert "warung-bu-sari" in page and "Rp75.000" in page
    # the forged notification is on no merchant's page (the operator sees it, /admin)
    assert page.count("Midtrans notification") == 1
    assert "&lt;b&gt;bold&lt;/b&gt;" in page and "<b>bold</b>" not in page  # raw, escaped
    assert "&#34;transaction_status&#34;: &#34;settlement&#34;" in page  # pretty-printed
    changes = [
        (" ".join(li.p.get_text(" ").split()), [pill["class"] for pill in li.select("span.pill")])
        for li in soup(page).select("li.timeline-change")
    ]
    pills = [["pill", "pill-pending"], ["pill", "pill-settlement"]]
    assert ("Status changed pending → settlement", pills) in changes
    assert "pill-rejected" not in page and "answered HTTP 403" not in page
    assert f"/projects/{owner}/deliveries/{delivery['id']}?env=sandbox" in page
    attempts = [
        [cell.get_text(strip=True) for cell in row.find_all("td")]
        for row in soup(page).select("table.attempts-table tbody tr")
    ]
    assert [(cells[0], cells[2]) for cells in attempts] == [("1", "500"), ("2", "200")]
    # oldest first: the notification, the change it made, the webhook
    order = [
        page.index(mark) for mark in ("answered HTTP 200", "Status changed", "<strong>Webhook")
    ]
    assert order == sorted(order)


def test_the_detail_loads_in_the_same_number_of_queries_however_long_the_history(
    app, client, owner
):
    from app.models import PaymentEvent, WebhookAttempt, WebhookDelivery

    def with_history(size: int) -> str:
        purchase_id = add_payment(owner, T0)
        payment = db.session.scalar(db.select(Payment).filter_by(purchase_id=purchase_id))
        for number in range(size):
            db.session.add(
                PaymentEvent(payment_id=payment.id, source="notification", raw_body="{}")
            )
            delivery_id = f"evt_{payment.id}_{number}"
            db.session.add(
                WebhookDelivery(
                    id=delivery_id,
                    project_id=owner,
                    environment="sandbox",
                    payment_id=payment.id,
                    event_type="item.purchased",
                    body="{}",
                    status="delivered",
                )
            )
            db.session.flush()
            for attempt in range(size):
                db.session.add(
                    WebhookAttempt(
                        delivery_id=delivery_id,
                        number=attempt + 1,
                        started_at=T0,
                        url="x",
                        duration_ms=5,
                    )
                )
        db.session.commit()
        return purchase_id

    with app.app_context():
        short, long = with_history(1), with_history(4)
        statements: list[str] = []
        event.listen(db.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    counts = []
    for purchase_id in (short, long):
        statements.clear()
        get(client, f"/projects/{owner}/payments/{purchase_id}")
        counts.append(len(statements))
    assert counts[0] == counts[1]


# -- tenancy ------------------------------------------------------------------------------------


def test_another_users_project_and_payment_and_the_other_environment_are_404(
    app, client, owner, other_project
):
    with app.app_context():
        theirs = add_payment(other_project, T0)
        mine_in_production = add_payment(owner, T0, environment="production")
        creating = add_payment(owner, T0, status="creating")

    for path in (
        f"/projects/{other_project}",
        f"/projects/{other_project}/payments",
        f"/projects/{other_project}/payments/{theirs}",
        f"/projects/{owner}/payments/{theirs}",  # their payment under my project
        f"/projects/{owner}/payments/{mine_in_production}",  # sandbox is the default
        f"/projects/{owner}/payments/{mine_in_production}?env=sandbox",
        f"/projects/{owner}/payments/{creating}",
        f"/projects/{owner}/payments/pur_%01",  # not an id we issue: still a plain 404
    ):
        assert client.get(path).status_code == 404, path
    assert (
        client.get(f"/projects/{owner}/payments/{mine_in_production}?env=production").status_code
        == 200
    )


# -- the overview -------------------------------------------------------------------------------


def test_the_overview_counts_each_wib_day_and_revenue_only_counts_money_received(
    app, client, owner, other_project
):
    today = today_wib()
    day = {n: start_of_day_utc(today - timedelta(days=n)) for n in range(40)}
    with app.app_context():
        # 3 days ago: two paid (one refunded since: still revenue), one expired, one reversed.
        add_payment(
            owner,
            day[3] + timedelta(hours=1),
            status="settlement",
            amount=50_000,
            paid_at=day[3] + timedelta(hours=2),
        )
        add_payment(
            owner,
            day[3] + timedelta(hours=3),
            status="refund",
            amount=20_000,
            paid_at=day[3] + timedelta(hours=4),
        )
        add_payment(owner, day[3] + timedelta(hours=5), status="expire", amount=99_000)
        add_payment(
            owner,
            day[3] + timedelta(hours=6),
            status="cancel",
            amount=77_000,
            paid_at=day[3] + timedelta(hours=7),
        )
        # created at 23:30 WIB yesterday, paid at 00:10 WIB today
        add_payment(
            owner,
            day[0] - timedelta(minutes=30),
            status="settlement",
            amount=15_000,
            paid_at=day[0] + timedelta(minutes=10),
        )
        add_payment(owner, day[0] + timedelta(minutes=1), status="pending", amount=5_000)
        add_payment(owner, day[0] + timedelta(minutes=2), status="creating", amount=1)
        add_payment(owner, day[35], status="settlement", amount=1_000, paid_at=day[35])  # too old
        add_payment(
            owner,
            day[3],
            environment="production",
            status="settlement",
            amount=8_000,
            paid_at=day[3],
        )
        add_payment(other_project, day[3], status="settlement", amount=9_000, paid_at=day[3])

        overview = reports.project_overview(owner, "sandbox", today, WIB, 30)

    by_day = {(today - entry.day).days: entry for entry in overview.days}
    assert len(overview.days) == 30 and overview.today.day == today
    assert (by_day[3].created, by_day[3].paid, by_day[3].revenue) == (4, 2, 70_000)
    assert (by_day[1].created, by_day[1].paid, by_day[1].revenue) == (1, 0, 0)
    assert (by_day[0].created, by_day[0].paid, by_day[0].revenue) == (1, 1, 15_000)
    assert all(by_day[n] == reports.DayTotals(by_day[n].day, 0, 0, 0) for n in (2, 4, 29))
    assert overview.pending_now == 1
    assert overview.total == reports.DayTotals(overview.days[0].day, 6, 3, 85_000)

    page = get(client, f"/projects/{owner}")
    assert "<svg" in page and page.count("<title>") >= 61  # two charts' titles + 60 bars
    three_days_ago = (today - timedelta(days=3)).isoformat()
    day_link = f"/payments?from={three_days_ago}&amp;to={three_days_ago}&amp;env=sandbox"
    assert f'<a href="/projects/{owner}{day_link}">' in page
    assert "Rp70.000 revenue; 2 paid; 4 created" in page
    assert "Rp85.000" in page and "Rp9.000" not in page and "Rp8.000" not in page
    assert 'style="' not in page and "<script>" not in page


def test_the_overview_of_an_empty_environment_is_all_zero(app, client, owner):
    page = get(client, f"/projects/{owner}?env=production")
    assert "Rp0 revenue; 0 paid; 0 created" in page
