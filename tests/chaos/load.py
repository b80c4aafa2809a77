"""The steady load: merchant backends creating checkouts (each with an Idempotency-Key, retried
on another web process after a failure, as a careful merchant does), buyers paying most of
them, and Midtrans sending each payment's signed notifications (some twice, some out of order),
retrying every one that was not answered 200, as Midtrans does, on a shortened schedule.

The `Ledger` is what clients saw: which checkouts were accepted, which notifications were
answered 200, and every answer's status by phase. The invariants are checked against it."""

from __future__ import annotations

import heapq
import itertools
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import requests

from tests.chaos.cluster import Web
from tests.fakes import Answer, FakeMidtrans
from tests.helpers import CHECKOUT_URL, NOTIFY_URL, ProjectKeys, checkout_body, notification

CLIENT_TIMEOUT = 30  # seconds a merchant's backend waits for one answer
GIVE_UP_AFTER = 45  # seconds a merchant's backend keeps retrying one checkout


class ChaosMidtrans(FakeMidtrans):
    """The fake Midtrans, which can also fail: "error" answers 503 to Snap create and Get
    Status, "hang" holds every such request until the fault ends."""

    fault: str | None = None
    fault_ends: float = 0.0

    def _answer(self, handler, method: str) -> Answer:
        answer = super()._answer(handler, method)
        if self.fault is None or handler.path.startswith("/v2/") and method == "POST":
            return answer  # refunds and cancels are not part of this load
        if self.fault == "error":
            return Answer(503, {"status_code": "503", "status_message": "Service unavailable"})
        return Answer(answer.status, answer.body, delay=max(0.0, self.fault_ends - time.time()))


@dataclass
class Checkout:
    purchase_id: str
    order_id: str
    amount: int


@dataclass(order=True)
class Notice:
    due: float
    seq: int
    purchase_id: str = field(compare=False)
    body: dict = field(compare=False)
    attempts: int = field(default=0, compare=False)


@dataclass
class Ledger:
    lock: threading.Lock = field(default_factory=threading.Lock)
    phase: str = "warm-up"
    accepted: dict[str, Checkout] = field(default_factory=dict)
    abandoned: list[str] = field(default_factory=list)  # order ids a client gave up on
    refused: list[str] = field(default_factory=list)  # answers no retry can change (4xx)
    # purchase_id → the transaction_status values whose notification was answered 200
    acknowledged: dict[str, set[str]] = field(default_factory=dict)
    # (phase, "checkout" | "notification", status or error name) → count
    answers: Counter = field(default_factory=Counter)
    # (phase, kind) → the longest a client waited for one answer (or error), in seconds
    slowest: dict[tuple[str, str], float] = field(default_factory=dict)

    def answered(self, kind: str, outcome: str, seconds: float) -> None:
        with self.lock:
            self.answers[(self.phase, kind, outcome)] += 1
            key = (self.phase, kind)
            self.slowest[key] = max(self.slowest.get(key, 0.0), seconds)

    def count(self, outcome: str, phase: str | None = None) -> int:
        return sum(
            n
            for (seen_phase, _, seen), n in self.answers.items()
            if seen == outcome and phase in (None, seen_phase)
        )


def _outcome(response: requests.Response | None, error: Exception | None) -> str:
    if error is not None:
        return "timeout" if isinstance(error, requests.Timeout) else "connection error"
    return str(response.status_code)


class Load:
    """`clients` merchant backends, one buyer, and Midtrans's notification sender."""

    def __init__(
        self,
        webs: list[Web],
        keys: ProjectKeys,
        midtrans: ChaosMidtrans,
        server_key: str,
        ledger: Ledger,
        clients: int = 3,
        pace: float = 0.3,  # seconds between one client's checkouts
        senders: int = 3,
    ) -> None:
        self.webs = webs
        self.keys = keys
        self.midtrans = midtrans
        self.server_key = server_key
        self.ledger = ledger
        self.clients = clients
        self.pace = pace
        self.senders = senders
        self.random = random.Random(20261207)
        self._serial = itertools.count(1)
        self._seq = itertools.count()
        self._web = itertools.count()
        self._stopping = threading.Event()
        self._closing = threading.Event()
        self._notices: list[Notice] = []
        self._in_flight = 0
        self._notices_lock = threading.Condition()
        self._clients: list[threading.Thread] = []
        self._senders = [
            threading.Thread(target=self._send_notifications, daemon=True, name=f"midtrans-{n}")
            for n in range(senders)
        ]
        for thread in self._senders:
            thread.start()

    def next_web(self) -> Web:
        return self.webs[next(self._web) % len(self.webs)]

    # -- merchants and buyers ----------------------------------------------------------------

    def start(self) -> None:
        self._stopping.clear()
        self._clients = [
            threading.Thread(target=self._merchant, daemon=True, name=f"merchant-{n}")
            for n in range(self.clients)
        ]
        for thread in self._clients:
            thread.start()

    def stop(self) -> None:
        """No new checkouts; every one in flight is finished (or given up) first."""
        self._stopping.set()
        for thread in self._clients:
            thread.join(timeout=GIVE_UP_AFTER + CLIENT_TIMEOUT + 5)

    def _merchant(self) -> None:
        while not self._stopping.is_set():
            started = time.monotonic()
            checkout = self._checkout(next(self._serial))
            if checkout is not None:
                self._buyer(checkout)
            self._stopping.wait(max(0.0, self.pace - (time.monotonic() - started)))

    def _checkout(self, serial: int) -> Checkout | None:
        order_id = f"chaos-{serial:06d}"
        amount = 10_000 + 1_000 * (serial % 90)
        body = checkout_body(
            self.keys, order_id=order_id, amount=amount, buyer_email=f"b{serial}@example.com"
        )
        deadline = time.monotonic() + GIVE_UP_AFTER
        while True:
            response, error, sent = None, None, time.monotonic()
            try:
                response = requests.post(
                    self.next_web().url + CHECKOUT_URL,
                    json=body,
                    headers={"Idempotency-Key": order_id},
                    timeout=CLIENT_TIMEOUT,
                )
            except requests.RequestException as exc:
                error = exc
            self.ledger.answered("checkout", _outcome(response, error), time.monotonic() - sent)
            if response is not None and response.status_code == 201:
                purchase_id = response.json()["purchase_id"]
                checkout = Checkout(purchase_id, order_id, amount)
                with self.ledger.lock:
                    self.ledger.accepted[purchase_id] = checkout
                return checkout
            if response is not None and response.status_code < 500 and response.status_code != 409:
                with self.ledger.lock:
                    self.ledger.refused.append(
                        f"{order_id}: {response.status_code} {response.text}"
                    )
                return None
            if time.monotonic() >= deadline:
                with self.ledger.lock:
                    self.ledger.abandoned.append(order_id)
                return None
            time.sleep(0.5)

    def _buyer(self, checkout: Checkout) -> None:
        """Most buyers pay: Midtrans settles and notifies (a few notifications twice, a few
        with a stale `pending` after the settlement); the rest never pay."""
        if self.random.random() < 0.15:
            return
        gross = f"{checkout.amount}.00"
        self.midtrans.set_status(checkout.purchase_id, "settlement", gross)
        statuses = ["settlement"]
        if self.random.random() < 0.2:
            statuses.append("settlement")
        if self.random.random() < 0.1:
            statuses.append("pending")
        for status in statuses:
            body = notification(checkout.purchase_id, status, self.server_key, gross_amount=gross)
            self._notify(Notice(time.monotonic(), next(self._seq), checkout.purchase_id, body))

    # -- Midtrans's notification sender ------------------------------------------------------

    def _notify(self, notice: Notice) -> None:
        with self._notices_lock:
            heapq.heappush(self._notices, notice)
            self._notices_lock.notify()

    def _send_notifications(self) -> None:
        while not self._closing.is_set():
            with self._notices_lock:
                while not self._notices or self._notices[0].due > time.monotonic():
                    if self._closing.is_set():
                        return
                    wait = self._notices[0].due - time.monotonic() if self._notices else 0.5
                    self._notices_lock.wait(max(0.01, min(wait, 0.5)))
                notice = heapq.heappop(self._notices)
                self._in_flight += 1
            try:
                self._send(notice)
            finally:
                with self._notices_lock:
                    self._in_flight -= 1
                    self._notices_lock.notify_all()

    def _send(self, notice: Notice) -> None:
        response, error, sent = None, None, time.monotonic()
        try:
            response = requests.post(
                self.next_web().url + NOTIFY_URL,
                json=notice.body,
                headers={"User-Agent": "Veritrans"},
                timeout=CLIENT_TIMEOUT,
            )
        except requests.RequestException as exc:
            error = exc
        self.ledger.answered("notification", _outcome(response, error), time.monotonic() - sent)
        if response is not None and response.status_code == 200:
            with self.ledger.lock:
                self.ledger.acknowledged.setdefault(notice.purchase_id, set()).add(
                    notice.body["transaction_status"]
                )
            return
        # Midtrans retries what was not answered 200 (its own schedule is minutes; shortened).
        notice.attempts += 1
        notice.due = time.monotonic() + min(0.5 * 2**notice.attempts, 5.0)
        notice.seq = next(self._seq)
        self._notify(notice)

    def notifications_outstanding(self) -> int:
        with self._notices_lock:
            return len(self._notices) + self._in_flight

    def close(self) -> None:
        self._stopping.set()
        self._closing.set()
        with self._notices_lock:
            self._notices_lock.notify_all()
        for thread in self._senders:
            thread.join(timeout=CLIENT_TIMEOUT + 5)
