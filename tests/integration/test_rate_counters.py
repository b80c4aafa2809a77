"""Verify's limits counted in memory between batched Redis round trips
(app/rate_counters.py): exact within a process, shared between processes within a flush
interval, one round trip per key and window instead of one per poll."""

from __future__ import annotations

import time

import pytest

from app import rate_counters
from app.rate_counters import FLUSH_SECONDS, SharedCounters
from tests.helpers import create_payment

pytestmark = pytest.mark.usefixtures("fake_midtrans")

VERIFY = "/api/platform/shop-payment/verify"


@pytest.fixture
def two_processes(redis_conn):
    """Two processes' counters on one Redis (each its own memory and flusher)."""
    first, second = SharedCounters(redis_conn), SharedCounters(redis_conn)
    yield first, second
    first.stop()
    second.stop()


def counts(counters: SharedCounters, key: str, hits: int) -> list[int]:
    return [counters.hit([(key, 60)])[0].count for _ in range(hits)]


def test_hits_in_one_process_are_counted_exactly_and_reach_redis(two_processes, redis_conn):
    first, _ = two_processes

    assert counts(first, "lunas:limit:test:a", 5) == [1, 2, 3, 4, 5]
    first.flush()

    assert int(redis_conn.get("lunas:limit:test:a")) == 5
    assert 0 < redis_conn.pttl("lunas:limit:test:a") <= 60_000


def test_another_process_sees_the_hits_once_they_are_flushed(two_processes):
    first, second = two_processes
    key = "lunas:limit:test:b"
    assert counts(first, key, 3) == [1, 2, 3]
    first.flush()  # the background flusher does this every FLUSH_SECONDS

    assert counts(second, key, 2) == [4, 5]  # its first hit asked Redis
    second.flush()
    assert counts(first, key, 1) == [4]  # the other process's last interval: not seen yet
    first.flush()
    assert counts(first, key, 1) == [7]  # now all of them: 3 + 2 + 1, and this one


def test_a_new_window_starts_when_the_old_one_ends(two_processes, redis_conn):
    first, _ = two_processes
    assert [first.hit([("lunas:limit:test:c", 1)])[0].count for _ in range(3)] == [1, 2, 3]
    time.sleep(1.2)

    assert first.hit([("lunas:limit:test:c", 1)])[0].count == 1
    assert int(redis_conn.get("lunas:limit:test:c")) == 1


def test_redis_away_for_a_new_key_means_not_limited(redis_conn):
    away = SharedCounters(type(redis_conn).from_url("redis://127.0.0.1:1/0"))
    try:
        assert away.hit([("lunas:limit:test:d", 60)]) is None
        assert away.hit([("lunas:limit:test:d", 60)]) is None  # asked again each time
    finally:
        away.stop()


@pytest.fixture
def verify_limits(app_environ, redis_conn):
    app_environ.update(RATE_LIMIT_VERIFY="1000/minute", RATE_LIMIT_VERIFY_ADDRESS="1000/minute")


@pytest.mark.usefixtures("verify_limits")
def test_a_buyers_polls_cost_redis_one_round_trip_per_window_not_one_per_poll(
    client, project, redis_conn
):
    purchase_id = create_payment(client, project)
    first = client.get(VERIFY, query_string={"order_id": purchase_id})
    assert first.headers["RateLimit-Remaining"] == "999"
    before = redis_conn.info("stats")["total_commands_processed"]

    answers = [client.get(VERIFY, query_string={"order_id": purchase_id}) for _ in range(40)]
    time.sleep(FLUSH_SECONDS * 3)
    commands = redis_conn.info("stats")["total_commands_processed"] - before

    assert [answer.status_code for answer in answers] == [200] * 40
    assert answers[-1].headers["RateLimit-Remaining"] == "959"
    # One EVALSHA per flush (and the INFO asking), not one or more per poll.
    assert commands < 15
    keys = redis_conn.keys("lunas:limit:RATE_LIMIT_VERIFY:*")
    assert [int(redis_conn.get(key)) for key in keys] == [41]


def test_a_flood_of_distinct_keys_stays_bounded_and_loses_no_count(
    two_processes, redis_conn, monkeypatch
):
    monkeypatch.setattr(rate_counters, "CAPACITY", 10)
    first, _ = two_processes

    for number in range(30):
        first.hit([(f"lunas:limit:test:flood:{number}", 60)])

    assert len(first._windows) <= 10
    # The first key was dropped from memory; Redis still holds its count.
    assert first.hit([("lunas:limit:test:flood:0", 60)])[0].count == 2
