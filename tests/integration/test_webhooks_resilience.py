"""Nothing is lost, at process level: a real `flask worker` subprocess, a private
redis-server that these tests kill, pause, flush and restart, and a local merchant endpoint.

The database is shared: this process settles payments through the web app (test client) and
the worker subprocess, pointed at the same database, delivers them. Every subprocess is killed
in a finalizer and every wait has a deadline; a failure message carries the worker's and
redis-server's logs."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import pairwise

import pytest
from rq import Queue, Worker

from app.extensions import redis_connection
from app.models import DeliveryStatus
from tests.helpers import create_payment, new_project
from tests.processes import (
    REDIS_SERVER,
    RedisServer,
    WorkerProcess,
    process_env,
    tail,
    wait_until,
)
from tests.receiver import MerchantReceiver, Received, Reply
from tests.webhook_flow import attempt_rows, delivery_rows, midtrans_moves, signing_secret

WEBHOOK_TIMEOUT = 2  # seconds; a claim's lease is 2 × this + 5 = 9 s
LEASE = 2 * WEBHOOK_TIMEOUT + 5
SWEEP_GRACE = 10  # app.services.outbox.queue.SWEEP_GRACE: the sweeper leaves younger rows alone
FAST_ANSWER = 2.0  # seconds: "well under" the 5 s Midtrans is promised

pytestmark = pytest.mark.skipif(REDIS_SERVER is None, reason="needs the redis-server binary")


# -- the harness -------------------------------------------------------------------------------


@dataclass
class Settled:
    purchase_id: str
    status_code: int
    body: dict | None
    seconds: float


class Harness:
    def __init__(self, app, client, fake, redis_server, receiver, tmp_path, environ) -> None:
        self.app = app
        self.client = client
        self.fake = fake
        self.redis = redis_server
        self.receiver = receiver
        self.tmp_path = tmp_path
        self.environ = environ
        self.workers: list[WorkerProcess] = []
        with app.app_context():
            self.keys = new_project(name="Warung Bu Sari", webhook_url=receiver.url)
        self.secret = signing_secret(app, self.keys)

    # processes

    def worker_env(self) -> dict[str, str]:
        return process_env(self.app, self.environ)

    def start_worker(self) -> WorkerProcess:
        log = self.tmp_path / f"worker-{len(self.workers) + 1}.log"
        worker = WorkerProcess(self.worker_env(), log)
        self.workers.append(worker)
        return worker

    def wait_for_rq_worker(self, count: int = 1) -> None:
        """Until `count` worker processes have registered their RQ workers in our Redis (each
        registers one per delivery thread)."""

        def registered() -> bool:
            for worker in self.workers:
                assert worker.alive(), f"the worker exited early\n{self.logs()}"
            with self.redis.client() as conn:
                processes = {(w.hostname, w.pid) for w in Worker.all(connection=conn)}
            return len(processes) >= count

        wait_until(registered, 20, lambda: f"{count} RQ worker(s) registered\n{self.logs()}")

    def stop_all(self) -> None:
        for worker in self.workers:
            worker.kill()
        web_redis = self.app.extensions.pop("lunas_redis", None)  # the test app's own client
        if web_redis is not None:
            web_redis.close()
        if self.redis.running():
            self.redis.resume()  # a paused redis-server must be running to die at once
        self.redis.kill()

    def logs(self) -> str:
        parts = [f"=== {w.log.name} (pid {w.proc.pid})\n{tail(w.log)}" for w in self.workers]
        parts.append(f"=== redis-server\n{self.redis.log_text()}")
        return "\n".join(parts)

    # payments

    def checkout(self, order_id: str = "order-1") -> str:
        """A pending sandbox payment of 75 000 IDR; returns its purchase_id."""
        return create_payment(self.client, self.keys, order_id=order_id)

    def settle(self, purchase_id: str) -> Settled:
        """Midtrans settles (Get Status agrees) and sends its signed notification."""
        started = time.monotonic()
        response = midtrans_moves(self.client, self.fake, purchase_id, "settlement")
        return Settled(
            purchase_id, response.status_code, response.get_json(), time.monotonic() - started
        )

    # the database

    def deliveries(self) -> list[dict]:
        return delivery_rows(self.app)

    def attempts(self, delivery_id: str) -> list[dict]:
        return attempt_rows(self.app, delivery_id)

    def only_delivery(self) -> dict:
        rows = self.deliveries()
        assert len(rows) == 1, f"expected one delivery row, got {rows}\n{self.logs()}"
        return rows[0]

    def wait_for_status(self, status: DeliveryStatus, timeout: float) -> dict:
        def reached() -> dict | None:
            row = self.only_delivery()
            return row if row["status"] == status else None

        return wait_until(
            reached, timeout, lambda: f"delivery {status}: {self.deliveries()}\n{self.logs()}"
        )

    # the merchant

    def wait_for_webhooks(self, count: int, timeout: float) -> list[Received]:
        try:
            return self.receiver.wait_for(count, timeout=timeout)
        except AssertionError as exc:
            raise AssertionError(f"{exc}; deliveries: {self.deliveries()}\n{self.logs()}") from None

    def assert_item_purchased(self, received: Received, purchase_id: str) -> dict:
        payload = received.verify(self.secret)  # the public standardwebhooks library
        assert payload["event"] == "item.purchased"
        assert payload["purchase_id"] == purchase_id
        assert payload["amount"] == 75000
        return payload

    def assert_no_more_webhooks(self, count: int, settle_for: float = 1.5) -> None:
        """Nothing else arrives while the sweeper runs again (1 s interval)."""
        time.sleep(settle_for)
        assert len(self.receiver.received) == count, (
            f"expected exactly {count} webhook(s), got {len(self.receiver.received)}: "
            f"{[r.headers.get('webhook-id') for r in self.receiver.received]}\n{self.logs()}"
        )


@pytest.fixture
def redis_server(tmp_path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    server.start()
    yield server
    if server.running():
        server.resume()
    server.kill()


@pytest.fixture
def receiver() -> Iterator[MerchantReceiver]:
    with MerchantReceiver() as merchant:
        yield merchant


@pytest.fixture
def app_environ(app_environ, redis_server) -> dict[str, str]:
    """The test app and every worker subprocess share this: our Redis, a fast sweeper, a
    short timeout (so a lease runs out in 9 s), a short retry schedule."""
    app_environ.update(
        {
            "REDIS_URL": redis_server.url,
            "WEBHOOK_SWEEP_INTERVAL_SECONDS": "1",
            "WEBHOOK_TIMEOUT_SECONDS": str(WEBHOOK_TIMEOUT),
            "WEBHOOK_RETRY_SCHEDULE": "1,1,1",
            "WEBHOOK_ALLOW_PRIVATE_TARGETS": "1",
        }
    )
    return app_environ


@pytest.fixture
def harness(app, client, fake_midtrans, redis_server, receiver, tmp_path, app_environ):
    """Torn down before `app` (which truncates the tables): no worker outlives its test."""
    harness = Harness(app, client, fake_midtrans, redis_server, receiver, tmp_path, app_environ)
    yield harness
    harness.stop_all()


# -- 1. Redis is down when the payment settles -------------------------------------------------


def test_a_settlement_while_redis_is_down_is_delivered_once_redis_is_back(harness):
    worker = harness.start_worker()
    harness.wait_for_rq_worker()
    purchase_id = harness.checkout()

    harness.redis.kill()
    settled = harness.settle(purchase_id)

    # The notification is accepted and the event recorded, with nowhere yet to queue it.
    assert settled.status_code == 200, settled.body
    assert settled.body == {"message": "ok"}
    delivery = harness.only_delivery()
    assert delivery["status"] == DeliveryStatus.PENDING
    assert delivery["attempt_count"] == 0

    time.sleep(1.5)  # the worker notices: its blocking dequeue and heartbeats fail
    assert worker.alive(), f"the worker died when Redis went away\n{harness.logs()}"

    harness.redis.start()  # same port, empty: the job that could not be enqueued never existed
    back_at = time.time()

    [received] = harness.wait_for_webhooks(1, timeout=30)
    assert received.at - back_at < 30  # "within a minute of Redis coming back"
    payload = harness.assert_item_purchased(received, purchase_id)
    assert received.headers["webhook-id"] == delivery["id"]
    assert received.body == delivery["body"].encode()
    assert payload["payment_type"] == "bank_transfer"

    harness.wait_for_status(DeliveryStatus.DELIVERED, timeout=10)
    harness.assert_no_more_webhooks(1)
    assert worker.alive(), f"the worker did not survive Redis going away\n{harness.logs()}"


# -- 2. a worker is killed mid-delivery ---------------------------------------------------------


def test_a_worker_killed_mid_delivery_leads_to_a_retry_of_the_same_event(harness):
    # The merchant holds the first request far past the moment the worker is killed.
    harness.receiver.replies = [Reply(status=200, delay=LEASE + 20)]
    first_worker = harness.start_worker()
    purchase_id = harness.checkout()

    settled = harness.settle(purchase_id)
    assert settled.status_code == 200, settled.body

    [held] = harness.wait_for_webhooks(1, timeout=20)
    first_worker.kill()
    delivery = harness.only_delivery()
    assert delivery["status"] == DeliveryStatus.DELIVERING, harness.logs()
    assert delivery["attempt_count"] == 1

    second_worker = harness.start_worker()
    # The lease (2 × timeout + 5 s) runs out, the sweeper re-enqueues, the new worker retries.
    retried = harness.wait_for_webhooks(2, timeout=LEASE + 20)[1]

    assert retried.headers["webhook-id"] == held.headers["webhook-id"] == delivery["id"]
    assert retried.body == held.body == delivery["body"].encode()  # exactly those bytes
    harness.assert_item_purchased(held, purchase_id)
    harness.assert_item_purchased(retried, purchase_id)

    row = harness.wait_for_status(DeliveryStatus.DELIVERED, timeout=10)
    assert row["attempt_count"] == 2  # the killed attempt counted
    assert row["finished_at"] is not None
    assert row["leased_until"] is None
    killed, last = harness.attempts(row["id"])  # both attempts are in the log
    assert killed["number"] == 1
    assert killed["http_status"] is None
    assert killed["error"].startswith("interrupted")
    assert last["number"] == 2
    assert last["http_status"] == 200
    assert last["error"] is None
    assert last["url"] == killed["url"] == harness.receiver.url

    harness.assert_no_more_webhooks(2)
    assert second_worker.alive(), harness.logs()


# -- 3. the RQ job is lost from Redis ----------------------------------------------------------


def test_a_job_lost_from_redis_is_swept_back_from_the_database(harness):
    purchase_id = harness.checkout()

    settled = harness.settle(purchase_id)  # Redis is up, but no worker runs yet
    assert settled.status_code == 200, settled.body
    with harness.redis.client() as conn:
        assert Queue("default", connection=conn).count == 1  # it was enqueued…
        conn.flushall()  # …and is gone
        assert Queue("default", connection=conn).count == 0
    assert harness.only_delivery()["status"] == DeliveryStatus.PENDING

    worker = harness.start_worker()

    [received] = harness.wait_for_webhooks(1, timeout=SWEEP_GRACE + 20)
    harness.assert_item_purchased(received, purchase_id)
    row = harness.wait_for_status(DeliveryStatus.DELIVERED, timeout=10)
    assert row["attempt_count"] == 1
    assert [a["http_status"] for a in harness.attempts(row["id"])] == [200]
    harness.assert_no_more_webhooks(1)
    assert worker.alive(), harness.logs()


# -- 4. the web answer never waits on a dead Redis ---------------------------------------------


@pytest.mark.parametrize("failure", ["killed", "hung"])
def test_the_notification_answers_fast_while_redis_is_dead(harness, failure):
    purchase_id = harness.checkout()
    with harness.app.app_context():
        assert redis_connection().ping()  # the app holds a pooled connection that now breaks
    if failure == "killed":
        harness.redis.kill()  # connections refused
    else:
        harness.redis.pause()  # connections accepted, never answered

    settled = harness.settle(purchase_id)

    assert settled.status_code == 200, settled.body
    assert settled.body == {"message": "ok"}
    assert settled.seconds < FAST_ANSWER, f"answered in {settled.seconds:.2f} s"
    delivery = harness.only_delivery()
    assert delivery["status"] == DeliveryStatus.PENDING
    assert delivery["attempt_count"] == 0


# -- 5. Redis goes away while a delivery is in flight ------------------------------------------


def test_redis_dying_mid_delivery_neither_loses_the_outcome_nor_the_worker(harness):
    harness.receiver.replies = [Reply(status=200, delay=1)]
    worker = harness.start_worker()
    harness.wait_for_rq_worker()
    first = harness.checkout()
    second = harness.checkout("order-2")
    assert harness.settle(first).status_code == 200

    harness.wait_for_webhooks(1, timeout=15)
    harness.redis.kill()  # while the merchant is still answering

    # The outcome lives in the database, not in Redis.
    first_delivery = harness.wait_for_status(DeliveryStatus.DELIVERED, timeout=10)
    time.sleep(1)  # RQ finishes the job against a dead Redis
    assert worker.alive(), f"the worker died with Redis mid-job\n{harness.logs()}"

    harness.redis.start()
    assert harness.settle(second).status_code == 200
    received = harness.wait_for_webhooks(2, timeout=30)
    harness.assert_item_purchased(received[0], first)
    harness.assert_item_purchased(received[1], second)

    def both_delivered() -> list[dict] | None:
        rows = harness.deliveries()
        return rows if [row["status"] for row in rows] == ["delivered"] * 2 else None

    rows = wait_until(both_delivered, 10, lambda: f"{harness.deliveries()}\n{harness.logs()}")
    assert {row["id"]: row["attempt_count"] for row in rows}[first_delivery["id"]] == 1
    assert len(harness.receiver.received) == 2
    assert worker.alive(), f"the worker did not survive Redis going away\n{harness.logs()}"


# -- 6. one endpoint's share, over two worker processes ----------------------------------------


def test_two_worker_processes_give_a_silent_endpoint_one_slot_and_others_go_first(harness):
    """A tenant whose endpoint never answers, and another's prompt one. Each worker process
    counts the silent endpoint's attempts in flight in the database before claiming: with a
    limit of one, the second process defers the silent tenant's events and delivers the other
    tenant's purchase at once."""
    harness.environ["WEBHOOK_MAX_IN_FLIGHT_PER_ENDPOINT"] = "1"
    with MerchantReceiver(default=Reply(status=200, delay=60)) as silent:
        with harness.app.app_context():
            quiet = new_project(
                name="Toko Sunyi", owner="sunyi@example.com", webhook_url=silent.url
            )
        harness.start_worker()
        harness.start_worker()
        harness.wait_for_rq_worker(2)

        for n in range(3):
            purchase = create_payment(harness.client, quiet, order_id=f"sunyi-{n}")
            assert (
                midtrans_moves(harness.client, harness.fake, purchase, "settlement").status_code
                == 200
            )
        purchase_id = harness.checkout()
        settled = harness.settle(purchase_id)
        settled_at = time.time()

        assert settled.status_code == 200, settled.body
        [received] = harness.wait_for_webhooks(1, timeout=WEBHOOK_TIMEOUT)
        assert received.at - settled_at < WEBHOOK_TIMEOUT  # not behind the silent attempts
        harness.assert_item_purchased(received, purchase_id)
        # The silent endpoint gets its attempts one after another, never two at once.
        arrivals = [r.at for r in silent.wait_for(3, timeout=30)]
    gaps = [later - earlier for earlier, later in pairwise(arrivals)]
    assert all(gap >= WEBHOOK_TIMEOUT - 0.5 for gap in gaps), (gaps, harness.logs())
