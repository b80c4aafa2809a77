"""One worker process delivers with WEBHOOK_WORKER_THREADS RQ workers, one per thread: a
merchant whose endpoint takes 2 s per request holds the threads its share allows, and another
merchant's purchases go out meanwhile.

The worker is app.worker.run_worker itself, in burst mode, in this process (the tests of a
`flask worker` subprocess are in test_webhooks_resilience.py)."""

from __future__ import annotations

import time

import pytest

from app import jobs
from app.worker import run_worker
from tests.helpers import create_payment
from tests.receiver import MerchantReceiver, Reply
from tests.webhook_flow import delivery_rows, point_webhooks_at, settle

SLOW = Reply(200, delay=2.0)


@pytest.fixture
def slow() -> MerchantReceiver:
    with MerchantReceiver(default=SLOW) as receiver:
        yield receiver


@pytest.fixture
def prompt() -> MerchantReceiver:
    with MerchantReceiver(default=Reply(200)) as receiver:
        yield receiver


@pytest.fixture
def queued(app, client, project, strangers, fake_midtrans, slow, prompt) -> None:
    """A merchant whose endpoint answers after 2 s, with two purchases queued first, and
    another merchant's three purchases queued behind them."""
    point_webhooks_at(app, project, slow.url)
    point_webhooks_at(app, strangers, prompt.url)
    for keys, count, prefix in ((project, 2, "slow"), (strangers, 3, "prompt")):
        for n in range(count):
            settle(client, fake_midtrans, create_payment(client, keys, order_id=f"{prefix}-{n}"))


def work(app, monkeypatch, threads: int) -> float:
    """The worker process's work, in burst mode: returns when it started."""
    monkeypatch.setattr(jobs, "_app", None)  # restored after the test
    started = time.time()
    with app.app_context():
        run_worker(burst=True, threads=threads)
    return started


def test_a_slow_merchant_does_not_hold_up_another_merchants_purchases(
    app, queued, slow, prompt, monkeypatch
):
    # when one worker process with four threads works the queue
    started = work(app, monkeypatch, threads=4)

    # then the other merchant had all three within a second, while the slow one still answered
    received = prompt.wait_for(3, timeout=1)
    assert max(hook.at for hook in received) - started < 1.0
    assert len(slow.received) == 2
    assert min(hook.at for hook in slow.received) - started < 1.0  # the two went at once
    # and every purchase was delivered, once each
    assert [row["status"] for row in delivery_rows(app)] == ["delivered"] * 5
    assert len({hook.headers["webhook-id"] for hook in [*received, *slow.received]}) == 5


def test_with_one_thread_the_same_purchases_wait_behind_the_slow_merchant(
    app, queued, prompt, monkeypatch
):
    # when the worker process has a single thread (WEBHOOK_WORKER_THREADS=1)
    started = work(app, monkeypatch, threads=1)

    # then the other merchant's first purchase went out only after both slow answers
    received = prompt.wait_for(3, timeout=1)
    assert min(hook.at for hook in received) - started >= 2 * SLOW.delay
    assert [row["status"] for row in delivery_rows(app)] == ["delivered"] * 5
