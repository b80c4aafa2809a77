"""The portal's delivery log: newest first with keyset pages
and filters, every attempt of every row (in one query), the detail page, resending one event or
every failed one since a time, CSRF, and tenancy."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from rq import Queue
from sqlalchemy import event, update

from app.clock import WIB
from app.extensions import db
from app.models import DeliveryStatus, EventType, WebhookDelivery
from app.models.base import utcnow
from app.services.outbox.events import new_delivery
from tests.helpers import MERCHANT_URL, create_payment, link, linked_ids
from tests.portal_client import post_with_token
from tests.receiver import MerchantReceiver, Reply
from tests.webhook_flow import (
    attempt_delivery,
    delivery_row,
    delivery_rows,
    point_webhooks_at,
    settle,
    signing_secret,
    wait_for_retry,
)


def url(project_id: str, path: str = "deliveries", env: str = "sandbox", **query) -> str:
    extra = "".join(f"&{key}={value}" for key, value in query.items())
    return f"/projects/{project_id}/{path}?env={env}{extra}"


def post(client, project_id: str, path: str, env: str = "sandbox", token=True, **fields):
    return post_with_token(client, url(project_id, path, env), token, **fields)


def add_delivery(
    app,
    project_id: str,
    env: str = "sandbox",
    *,
    status: DeliveryStatus = DeliveryStatus.FAILED,
    age: timedelta = timedelta(0),
    event_type: EventType = EventType.TEST,
    **fields,
) -> str:
    """A recorded event as the delivery job would have left it, created `age` ago."""
    with app.app_context():
        delivery = new_delivery(project_id, env, event_type, {"event": str(event_type)})
        delivery.status = status
        delivery.created_at = utcnow() - age
        for name, value in fields.items():
            setattr(delivery, name, value)
        db.session.commit()
        return delivery.id


def events_on(page) -> list[str]:
    """The ids of the deliveries a page of the log links to, in order."""
    return linked_ids(page, "/deliveries/")


def listed(client, path: str) -> list[str]:
    return events_on(client.get(path))


# -- the list ------------------------------------------------------------------------------


def test_the_list_pages_through_every_delivery_newest_first(app, client, mine):
    ids = [add_delivery(app, mine.project_id, age=timedelta(minutes=n)) for n in range(120)]
    # Ten share one created_at: the id breaks the tie, and no page repeats or skips one.
    with app.app_context():
        tied = utcnow() - timedelta(minutes=49, seconds=30)
        db.session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id.in_(ids[45:55]))
            .values(created_at=tied)
        )
        db.session.commit()
    expected = ids[:45] + sorted(ids[45:55], reverse=True) + ids[55:]

    first = client.get(url(mine.project_id)).get_data(as_text=True)
    second = client.get(link(first, "Older")).get_data(as_text=True)
    third_url = link(second, "Older")
    newer = link(second, "← Newer")

    assert "Newer" not in first
    assert events_on(first) == expected[:50]
    assert events_on(second) == expected[50:100]
    assert listed(client, third_url) == expected[100:]
    assert "Older" not in client.get(third_url).get_data(as_text=True)
    assert listed(client, newer) == expected[:50]


def test_the_older_link_keeps_the_filters(app, client, mine):
    failed = [add_delivery(app, mine.project_id, age=timedelta(minutes=n)) for n in range(51)]
    add_delivery(app, mine.project_id, status=DeliveryStatus.DELIVERED, age=timedelta(hours=2))

    first = client.get(url(mine.project_id, status="failed"))
    older = link(first, "Older")

    assert "status=failed" in older
    assert listed(client, older) == failed[50:]


@pytest.mark.parametrize("cursor", ["garbage", "%ff%fe", "MjAyNi0xMS0yMnxldnRfeA", "x" * 500])
def test_a_malformed_cursor_is_a_400_naming_it(app, client, mine, cursor):
    newest = add_delivery(app, mine.project_id)

    for name in ("before", "after"):
        response = client.get(url(mine.project_id, **{name: cursor}))
        assert response.status_code == 400
        assert f"{name} is not a valid page link" in response.get_data(as_text=True)
        assert newest not in response.get_data(as_text=True)


def test_filters_by_status_and_event_type(app, client, mine):
    failed = add_delivery(app, mine.project_id, status=DeliveryStatus.FAILED)
    delivered = add_delivery(app, mine.project_id, status=DeliveryStatus.DELIVERED)
    with app.app_context():
        db.session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id == delivered)
            .values(event_type=EventType.ITEM_PURCHASED)
        )
        db.session.commit()

    assert listed(client, url(mine.project_id, status="failed")) == [failed]
    assert listed(client, url(mine.project_id, event_type="item.purchased")) == [delivered]
    assert listed(client, url(mine.project_id, status="failed", event_type="item.purchased")) == []
    assert set(listed(client, url(mine.project_id, status="bogus"))) == {failed, delivered}


def test_the_list_shows_only_this_environment_of_this_project(app, client, mine, strangers):
    here = add_delivery(app, mine.project_id)
    add_delivery(app, mine.project_id, "production")
    add_delivery(app, strangers.project_id)

    assert listed(client, url(mine.project_id)) == [here]


def test_each_row_shows_its_state_and_every_attempt(app, client, mine, clock):
    with MerchantReceiver([Reply(500, body=b"<b>boom</b>")], default=Reply(200)) as receiver:
        point_webhooks_at(app, mine, receiver.url)
        event_id = add_delivery(
            app,
            mine.project_id,
            status=DeliveryStatus.PENDING,
            event_type=EventType.ITEM_PURCHASED,  # a test event is never retried
        )
        attempt_delivery(app, event_id)
        wait_for_retry(clock, app, event_id)
        attempt_delivery(app, event_id)

    page = client.get(url(mine.project_id)).get_data(as_text=True)

    assert '<span class="pill pill-delivered">delivered</span>' in page
    assert "2 attempts" in page
    assert "HTTP 500" in page and "HTTP 200" in page
    assert "&lt;b&gt;boom&lt;/b&gt;" in page and "<b>boom</b>" not in page
    assert "finished " in page


def test_the_pages_attempts_are_loaded_in_one_query(app, client, mine):
    def statements_for_page() -> int:
        seen = []

        def count(*_args):
            seen.append(1)

        with app.app_context():
            engine = db.engine
        event.listen(engine, "before_cursor_execute", count)
        try:
            assert client.get(url(mine.project_id)).status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return len(seen)

    with MerchantReceiver(default=Reply(500)) as receiver:
        point_webhooks_at(app, mine, receiver.url)
        for _ in range(2):
            attempt_delivery(app, add_delivery(app, mine.project_id, status=DeliveryStatus.PENDING))
        with_two = statements_for_page()
        for _ in range(8):
            attempt_delivery(app, add_delivery(app, mine.project_id, status=DeliveryStatus.PENDING))
        with_ten = statements_for_page()

    assert with_two == with_ten


# -- the detail page -----------------------------------------------------------------------


def test_the_detail_shows_the_frozen_body_the_payment_and_every_attempt(
    app, client, mine, fake_midtrans
):
    with MerchantReceiver([Reply(503, body=b"<i>down</i>")]) as receiver:
        point_webhooks_at(app, mine, receiver.url)
        purchase_id = create_payment(client, mine)
        settle(client, fake_midtrans, purchase_id)
        [row] = delivery_rows(app)
        attempt_delivery(app, row["id"])

    response = client.get(url(mine.project_id, f"deliveries/{row['id']}"))

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    pretty = json.dumps(json.loads(row["body"]), indent=2, ensure_ascii=False)
    assert pretty.replace('"', "&#34;") in page
    assert "item.purchased" in page and "pill-pending" in page
    assert f'href="/projects/{mine.project_id}/payments/{purchase_id}?env=sandbox"' in page
    assert receiver.url in page and ">503<" in page and "HTTP 503" in page
    assert "&lt;i&gt;down&lt;/i&gt;" in page and "<i>down</i>" not in page
    assert re.search(r"\d+ ms", page)


def test_a_delivery_of_the_other_environment_or_project_is_404(app, client, mine, strangers):
    production = add_delivery(app, mine.project_id, "production")
    theirs = add_delivery(app, strangers.project_id)

    assert client.get(url(mine.project_id, f"deliveries/{production}")).status_code == 404
    assert (
        client.get(url(mine.project_id, f"deliveries/{production}", "production")).status_code
        == 200
    )
    assert client.get(url(mine.project_id, f"deliveries/{theirs}")).status_code == 404
    assert client.get(url(strangers.project_id, f"deliveries/{theirs}")).status_code == 404
    assert client.get(url(strangers.project_id)).status_code == 404
    assert client.get(url(mine.project_id, "deliveries/evt_nope")).status_code == 404


# -- resend one ----------------------------------------------------------------------------


def test_a_resent_failed_delivery_goes_out_again(app, client, mine, run_worker):
    secret = signing_secret(app, mine)
    with MerchantReceiver([Reply(410)], default=Reply(200)) as receiver:
        point_webhooks_at(app, mine, receiver.url)
        event_id = add_delivery(app, mine.project_id, status=DeliveryStatus.PENDING)
        assert attempt_delivery(app, event_id) == "failed"

        response = post(client, mine.project_id, f"deliveries/{event_id}/resend")

        assert response.status_code == 303
        assert response.headers["Location"] == url(mine.project_id, f"deliveries/{event_id}")
        assert delivery_row(app, event_id)["status"] == "pending"
        run_worker()  # enqueued after the commit
        first, second = receiver.wait_for(2)
    assert second.body == first.body
    assert second.headers["webhook-id"] == first.headers["webhook-id"] == event_id
    second.verify(secret)
    assert delivery_row(app, event_id)["status"] == "delivered"
    assert "Event queued to be sent again" in client.get(response.headers["Location"]).get_data(
        as_text=True
    )


def test_a_delivery_being_delivered_right_now_is_not_resent(app, client, mine):
    point_webhooks_at(app, mine, MERCHANT_URL)
    lease = utcnow() + timedelta(seconds=30)
    event_id = add_delivery(
        app,
        mine.project_id,
        status=DeliveryStatus.DELIVERING,
        attempt_count=1,
        leased_until=lease,
    )
    before = delivery_row(app, event_id)

    response = post(client, mine.project_id, f"deliveries/{event_id}/resend")

    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "being delivered right now" in page
    assert delivery_row(app, event_id) == before


def test_resend_is_404_for_another_environment_or_project_and_changes_nothing(
    app, client, mine, strangers
):
    production = add_delivery(app, mine.project_id, "production")
    theirs = add_delivery(app, strangers.project_id)
    before = delivery_rows(app)

    assert post(client, mine.project_id, f"deliveries/{production}/resend").status_code == 404
    assert post(client, mine.project_id, f"deliveries/{theirs}/resend").status_code == 404
    assert post(client, strangers.project_id, f"deliveries/{theirs}/resend").status_code == 404
    assert delivery_rows(app) == before


def test_resend_without_a_csrf_token_is_400_and_changes_nothing(app, client, mine):
    event_id = add_delivery(app, mine.project_id)

    response = post(client, mine.project_id, f"deliveries/{event_id}/resend", token=False)

    assert response.status_code == 400
    assert delivery_row(app, event_id)["status"] == "failed"


# -- resend every failed one since ---------------------------------------------------------


def wib_input(moment) -> str:
    """A datetime-local input's value, in WIB."""
    return moment.astimezone(WIB).strftime("%Y-%m-%dT%H:%M")


def test_resend_failed_since_resets_only_this_environments_failed_ones_since_then(
    app, client, mine, redis_conn
):
    point_webhooks_at(app, mine, MERCHANT_URL)
    recent = [add_delivery(app, mine.project_id, age=timedelta(hours=h)) for h in (1, 2)]
    old = add_delivery(app, mine.project_id, age=timedelta(hours=4))
    production = add_delivery(app, mine.project_id, "production", age=timedelta(hours=1))
    delivered = add_delivery(
        app, mine.project_id, status=DeliveryStatus.DELIVERED, age=timedelta(hours=1)
    )

    response = post(
        client,
        mine.project_id,
        "deliveries/resend-failed",
        since=wib_input(utcnow() - timedelta(hours=3)),
    )

    assert response.status_code == 303
    assert "2 failed deliveries created since" in client.get(response.headers["Location"]).get_data(
        as_text=True
    )
    status = {row["id"]: row["status"] for row in delivery_rows(app)}
    assert [status[i] for i in recent] == ["pending", "pending"]
    assert (status[old], status[production], status[delivered]) == ("failed", "failed", "delivered")
    assert delivery_row(app, recent[0])["attempt_count"] == 0
    queued = Queue("default", connection=redis_conn).jobs
    assert sorted(job.args[0] for job in queued) == sorted(recent)


def test_the_resend_since_time_is_read_as_wib(app, client, mine):
    point_webhooks_at(app, mine, MERCHANT_URL)
    event_id = add_delivery(app, mine.project_id, age=timedelta(hours=2))
    created = delivery_row(app, event_id)["created_at"]
    # Read as UTC, either time would be 7 hours earlier, and both would include the event.
    after = wib_input(created + timedelta(minutes=5))
    before = wib_input(created - timedelta(minutes=5))

    post(client, mine.project_id, "deliveries/resend-failed", since=after)
    assert delivery_row(app, event_id)["status"] == "failed"
    post(client, mine.project_id, "deliveries/resend-failed", since=before)
    assert delivery_row(app, event_id)["status"] == "pending"


@pytest.mark.parametrize("since", ["", "yesterday", "2026-13-40T99:00", "22/11/2026 08:00"])
def test_a_malformed_time_is_a_clear_error_and_changes_nothing(app, client, mine, since):
    event_id = add_delivery(app, mine.project_id, age=timedelta(hours=1))

    response = post(client, mine.project_id, "deliveries/resend-failed", since=since)

    assert response.status_code == 303
    assert "Enter the time to resend from" in client.get(response.headers["Location"]).get_data(
        as_text=True
    )
    assert delivery_row(app, event_id)["status"] == "failed"


def test_resend_failed_without_a_csrf_token_is_400_and_changes_nothing(app, client, mine):
    event_id = add_delivery(app, mine.project_id, age=timedelta(hours=1))
    since = wib_input(utcnow() - timedelta(days=1))

    response = post(client, mine.project_id, "deliveries/resend-failed", token=False, since=since)

    assert response.status_code == 400
    assert delivery_row(app, event_id)["status"] == "failed"


def test_resend_failed_on_another_users_project_is_404(app, client, mine, strangers):
    theirs = add_delivery(app, strangers.project_id, age=timedelta(hours=1))
    since = wib_input(utcnow() - timedelta(days=1))

    response = post(client, strangers.project_id, "deliveries/resend-failed", since=since)

    assert response.status_code == 404
    assert delivery_row(app, theirs)["status"] == "failed"
