"""What a newcomer tripped over in the portal: an attempt in flight that read as interrupted,
a page that did not refresh as it said, the first notification badged as a duplicate, status
"changes" that changed nothing, and money written two ways."""

from __future__ import annotations

import threading
from datetime import timedelta

from app.extensions import db
from app.models import WebhookAttempt, WebhookDelivery
from tests.helpers import create_payment, soup, table_rows, text_of
from tests.portal_client import post_with_token
from tests.receiver import MerchantReceiver, Reply
from tests.webhook_flow import midtrans_moves


def page_url(project_id: str, path: str) -> str:
    return f"/projects/{project_id}/{path}?env=sandbox"


def send_test_event(client, project_id: str, url: str) -> str:
    post_with_token(client, page_url(project_id, "webhooks"), url=url)
    response = post_with_token(client, page_url(project_id, "webhooks/test"))
    assert response.status_code == 303
    return response.headers["Location"]


def refresh_of(page) -> str | None:
    tag = soup(page).find("meta", attrs={"http-equiv": "refresh"})
    return tag["content"] if tag else None


def test_an_attempt_in_flight_reads_as_sending_and_the_page_refreshes_until_answered(
    app, client, mine, run_worker
):
    with MerchantReceiver(default=Reply(delay=2.0)) as receiver:
        event_page = send_test_event(client, mine.project_id, receiver.url)
        queued = client.get(event_page)
        seen = {}

        def look_while_in_flight() -> None:
            receiver.wait_for(1)  # the request is at the endpoint, its answer not back yet
            seen["page"] = client.get(event_page)

        looker = threading.Thread(target=look_while_in_flight)
        looker.start()
        run_worker()  # RQ's worker wants the main thread (its signal handlers)
        looker.join()
    in_flight = seen["page"]
    answered = client.get(event_page)

    assert refresh_of(queued) == "3"  # promised: it refreshes while being sent
    assert "sending: waiting for the endpoint's answer" in text_of(in_flight)
    assert "interrupted" not in text_of(in_flight)
    assert refresh_of(in_flight) == "3"
    assert "pill-delivered" in answered.get_data(as_text=True)
    assert refresh_of(answered) is None and "Being sent now" not in text_of(answered)
    [attempt] = table_rows(app, WebhookAttempt)
    assert (attempt["http_status"], attempt["error"]) == (200, None)


def test_an_attempt_whose_worker_died_reads_as_interrupted_once_its_lease_ran_out(
    app, client, mine, clock
):
    event_page = send_test_event(client, mine.project_id, "http://127.0.0.1:9/hooks")
    with app.app_context():
        delivery = db.session.scalar(db.select(WebhookDelivery))
        delivery.status, delivery.attempt_count = "delivering", 1
        delivery.leased_until = delivery.created_at + timedelta(seconds=35)
        db.session.add(
            WebhookAttempt(
                delivery_id=delivery.id,
                number=1,
                started_at=delivery.created_at,
                url="http://127.0.0.1:9/hooks",
                duration_ms=0,
            )
        )
        db.session.commit()

    held = client.get(event_page)
    clock.shift(timedelta(seconds=40))
    lost = client.get(event_page)

    assert "sending: waiting for the endpoint's answer" in text_of(held)
    assert "interrupted: the worker stopped before an answer was recorded" in text_of(lost)


def test_a_payments_timeline_says_what_changed_and_writes_money_one_way(
    app, client, mine, fake_midtrans
):
    purchase_id = create_payment(client, mine)
    for status, extra in (
        ("pending", {}),
        ("settlement", {}),
        ("partial_refund", {"refund_amount": "10000.00"}),
        ("partial_refund", {"refund_amount": "25000.00"}),
    ):
        assert (
            midtrans_moves(client, fake_midtrans, purchase_id, status, **extra).status_code == 200
        )

    page = soup(client.get(page_url(mine.project_id, f"payments/{purchase_id}")))
    events = page.select("li.timeline-event")
    changes = [
        entry.select_one("p").get_text(" ", strip=True)
        for entry in page.select("li.timeline-change")
    ]

    # The first "pending" of a payment created pending confirms it: no duplicate badge.
    assert events[0].select_one(".pill").get_text() == "confirmed"
    assert "no change" in events[0].get_text()
    assert "duplicate" not in page.get_text()
    assert changes == [
        "Status changed pending → settlement",
        "Status changed settlement → partial_refund",
        "Refunded amount changed (another partial refund; the status stays partial_refund )",
    ]
    assert page.find("dt", string="Refunded").find_next("dd").get_text() == "Rp25.000"
    assert page.find("dt", string="Amount").find_next("dd").get_text() == "Rp75.000"
