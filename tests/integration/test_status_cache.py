"""Verify's rows kept in memory (app/services/checkout/status_cache.py): a poll is answered
without PostgreSQL while nothing changed, a committed change is seen within a second, and a
listener that is cut off turns the cache off rather than letting it answer stale."""

from __future__ import annotations

import threading
import time

import psycopg
import pytest
from sqlalchemy import event, select, update

from app import create_app
from app.extensions import db
from app.models import Payment, PaymentStatus, Project
from app.services.checkout import status_cache as cache_module
from tests.helpers import create_payment, set_status
from tests.webhook_flow import settle

pytestmark = [pytest.mark.postgres_only, pytest.mark.usefixtures("fake_midtrans")]

VERIFY = "/api/platform/shop-payment/verify"


def poll(client, purchase_id: str) -> dict:
    answer = client.get(VERIFY, query_string={"order_id": purchase_id})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return answer.get_json()


def cache_of(app) -> cache_module.StatusCache:
    return app.extensions[cache_module.EXTENSION]


def wait_fresh(app, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not cache_of(app).fresh():
        assert time.monotonic() < deadline, "the listener never came back fresh"
        time.sleep(0.02)


class Statements:
    """Counts the statements the app's engine sends to PostgreSQL."""

    def __init__(self, app) -> None:
        self.count = 0
        with app.app_context():
            self.engine = db.engine
        event.listen(self.engine, "before_cursor_execute", self._seen)

    def _seen(self, *_args) -> None:
        self.count += 1

    def close(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._seen)


def kept_payment(app, client, project) -> str:
    """A pending payment whose verify answer this process keeps (read once, listener fresh)."""
    purchase_id = create_payment(client, project)
    poll(client, purchase_id)
    wait_fresh(app)
    poll(client, purchase_id)
    return purchase_id


def seen_within_a_second(client, purchase_id: str, field: str, value: str) -> None:
    committed = time.monotonic()
    while poll(client, purchase_id)[field] != value:
        assert time.monotonic() - committed < 1.0, f"{field} is not {value!r} after 1 s"
        time.sleep(0.01)


def commit_elsewhere(database_url: str, sql: str, *params) -> None:
    """A change committed by another process's connection (the worker, the janitor)."""
    url = database_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(sql, params)


def test_a_waiting_buyers_polls_are_answered_without_postgresql(app, client, project):
    purchase_id = kept_payment(app, client, project)

    statements = Statements(app)
    try:
        answers = [poll(client, purchase_id) for _ in range(20)]
    finally:
        statements.close()

    assert {answer["status"] for answer in answers} == {"pending"}
    assert statements.count == 0


def test_a_settlement_is_visible_to_verify_within_a_second_of_its_commit(
    app, client, project, fake_midtrans
):
    purchase_id = create_payment(client, project)
    poll(client, purchase_id)
    wait_fresh(app)
    assert poll(client, purchase_id)["status"] == "pending"

    settle(client, fake_midtrans, purchase_id)  # the real notification path commits
    committed = time.monotonic()
    while (answer := poll(client, purchase_id))["status"] != "settlement":
        assert time.monotonic() - committed < 1.0, answer
        time.sleep(0.01)

    assert time.monotonic() - committed < 1.0
    assert answer["paid_at"] is not None


def test_a_change_committed_by_another_process_drops_the_kept_answer(
    app, client, project, app_environ
):
    purchase_id = kept_payment(app, client, project)

    commit_elsewhere(
        app_environ["DATABASE_URL"],
        "UPDATE payments SET status = 'expire' WHERE purchase_id = %s",
        purchase_id,
    )
    seen_within_a_second(client, purchase_id, "status", "expire")


def test_renaming_the_project_shows_the_new_store_name_on_the_next_polls(app, client, project):
    purchase_id = kept_payment(app, client, project)

    with app.app_context():
        db.session.execute(
            update(Project).where(Project.id == project.project_id).values(name="Toko Baru")
        )
        db.session.commit()
    seen_within_a_second(client, purchase_id, "store_name", "Toko Baru")


def test_a_listener_cut_off_turns_the_cache_off_and_verify_reads_postgresql(
    app, client, project, app_environ
):
    purchase_id = kept_payment(app, client, project)

    # Cut the listener's connection, as a database restart or a network fault would.
    commit_elsewhere(
        app_environ["DATABASE_URL"],
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE query LIKE %s AND pid <> pg_backend_pid()",
        "%pg_notify%",
    )
    # Changed while nobody listened: no notice will ever arrive for it.
    set_status(app, purchase_id, PaymentStatus.CANCEL)

    # Within the cache's bound (its listener's pings stop coming back: it stops answering and
    # verify reads PostgreSQL), never later.
    seen_within_a_second(client, purchase_id, "status", "cancel")
    wait_fresh(app)  # it reconnects, and starts from an empty cache
    assert poll(client, purchase_id)["status"] == "cancel"


def test_a_listener_that_stops_hearing_pings_stops_the_cache_answering(app, client, project):
    purchase_id = kept_payment(app, client, project)
    cache = cache_of(app)

    # The listener hangs: it neither applies notices nor hears its pings any more.
    cache._apply = cache._pinged = lambda *_: None
    set_status(app, purchase_id, PaymentStatus.CANCEL)  # its notice is never applied
    time.sleep(cache_module.MAX_LAG_SECONDS + 0.05)

    assert not cache.fresh()
    assert poll(client, purchase_id)["status"] == "cancel"


def test_rows_read_before_a_notice_about_them_are_not_kept(app, client, project):
    """The race: a lookup reads the old row, the change commits and its notice arrives, and
    only then does the lookup try to keep what it read."""
    purchase_id = create_payment(client, project)
    poll(client, purchase_id)
    wait_fresh(app)
    cache = cache_of(app)
    with app.app_context():
        order_id = db.session.scalar(
            select(Payment.order_id).where(Payment.purchase_id == purchase_id)
        )

    ticket = cache.ticket()
    stale_rows = ("the row as it was read",)
    set_status(app, purchase_id, PaymentStatus.SETTLEMENT)
    deadline = time.monotonic() + 2
    while cache.ticket() == ticket:  # the notice arrives
        assert time.monotonic() < deadline
        time.sleep(0.01)

    assert not cache.keep(("race",), stale_rows, {purchase_id, order_id}, ticket)
    assert cache.rows(("race",)) is None
    assert cache.keep(("race",), stale_rows, {purchase_id, order_id}, cache.ticket())


def test_concurrent_polls_during_settlement_never_go_back_to_pending(
    app, client, project, fake_midtrans
):
    purchase_id = kept_payment(app, client, project)
    seen: list[list[str]] = [[] for _ in range(4)]
    stop = threading.Event()

    def poller(statuses: list[str]) -> None:
        own = app.test_client()
        while not stop.is_set():
            statuses.append(poll(own, purchase_id)["status"])

    threads = [threading.Thread(target=poller, args=(statuses,)) for statuses in seen]
    for thread in threads:
        thread.start()
    try:
        time.sleep(0.2)
        settle(client, fake_midtrans, purchase_id)
        time.sleep(1.2)
    finally:
        stop.set()
        for thread in threads:
            thread.join(10)

    for statuses in seen:
        assert statuses[0] == "pending" and statuses[-1] == "settlement"
        settled_at = statuses.index("settlement")
        assert set(statuses[settled_at:]) == {"settlement"}, "a poll went back to pending"


def test_the_cache_is_off_when_the_setting_says_so(app_environ):
    app_environ["STATUS_CACHE"] = "off"
    app = create_app(app_environ)
    assert cache_module.EXTENSION not in app.extensions
