"""What must hold after every fault, once the load has stopped and the system has caught up:

- no request lost that a client saw as accepted: every checkout answered 201 is a payment, with
  its order id and amount; every notification answered 200 is applied;
- no payment in a state Midtrans does not confirm;
- every settled payment has exactly one `item.purchased` event (one `webhook-id`), delivered to
  the merchant and verifiable with the endpoint's secret (received one or more times: delivery is
  at least once), and no other payment has one;
- no 500: not in any answer a client saw, not in any web process's access log, no request that
  ended in an unhandled exception in any log. (Tracebacks a worker logs while PostgreSQL is away
  and then tries again are counted for the report, not failed.)"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from tests.chaos.load import ChaosMidtrans, Ledger
from tests.receiver import MerchantReceiver

ACCESS_STATUS = re.compile(r'" (\d{3}) ')
UNHANDLED = "Exception on "  # Flask's line for a request that ended in an unhandled exception
TRACEBACK = "Traceback (most recent call last)"


@dataclass
class Snapshot:
    payments: dict[str, dict]  # purchase_id → row
    purchased: dict[str, list[dict]]  # purchase_id → its item.purchased deliveries

    @classmethod
    def read(cls, database_url: str) -> Snapshot:
        with psycopg.connect(database_url, connect_timeout=5) as conn:
            payments = {
                row[0]: {"order_id": row[1], "amount": row[2], "status": row[3], "id": row[4]}
                for row in conn.execute(
                    "SELECT purchase_id, order_id, amount, status, id FROM payments"
                )
            }
            by_id = {row["id"]: purchase_id for purchase_id, row in payments.items()}
            purchased: dict[str, list[dict]] = defaultdict(list)
            for delivery_id, payment_id, status in conn.execute(
                "SELECT id, payment_id, status FROM webhook_deliveries"
                " WHERE event_type = 'item.purchased'"
            ):
                purchased[by_id[payment_id]].append({"id": delivery_id, "status": status})
        return cls(payments, dict(purchased))

    @staticmethod
    def delivering(database_url: str) -> int:
        """Deliveries a worker holds under its lease right now."""
        with psycopg.connect(database_url, connect_timeout=5) as conn:
            [(count,)] = conn.execute(
                "SELECT count(*) FROM webhook_deliveries WHERE status = 'delivering'"
            )
        return count

    def settled(self) -> set[str]:
        return {pid for pid, row in self.payments.items() if row["status"] == "settlement"}


def caught_up(snapshot: Snapshot, midtrans: ChaosMidtrans, merchant: MerchantReceiver) -> bool:
    """Every payment Midtrans settled is settled here, and its event has reached the merchant."""
    paid = {
        order_id
        for order_id, answer in list(midtrans.status_answers.items())
        if answer.body.get("transaction_status") == "settlement"
    }
    if not paid <= snapshot.settled():
        return False
    received = {r.headers.get("webhook-id") for r in list(merchant.received)}
    return all(
        delivery["status"] == "delivered" and delivery["id"] in received
        for pid in paid
        for delivery in snapshot.purchased.get(pid, [{"id": None, "status": None}])
    )


@dataclass
class Verdict:
    violations: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    def fail(self, message: str) -> None:
        if len(self.violations) < 50:
            self.violations.append(message)


def check(
    snapshot: Snapshot,
    ledger: Ledger,
    midtrans: ChaosMidtrans,
    merchant: MerchantReceiver,
    logs: list[Path],
    access_logs: list[Path],
) -> Verdict:
    verdict = Verdict()
    truth = {
        order_id: answer.body.get("transaction_status")
        for order_id, answer in list(midtrans.status_answers.items())
    }
    with ledger.lock:
        accepted = dict(ledger.accepted)
        acknowledged = {pid: set(s) for pid, s in ledger.acknowledged.items()}
        refused = list(ledger.refused)

    for message in refused:
        verdict.fail(f"a checkout was refused for good: {message}")
    for pid, checkout in accepted.items():
        row = snapshot.payments.get(pid)
        if row is None:
            verdict.fail(f"accepted checkout {checkout.order_id} ({pid}) is not in the database")
        elif (row["order_id"], row["amount"]) != (checkout.order_id, checkout.amount):
            verdict.fail(f"{pid} is {row['order_id']}/{row['amount']}, the client was answered"
                         f" {checkout.order_id}/{checkout.amount}")  # fmt: skip
    for pid, statuses in acknowledged.items():
        if (
            "settlement" in statuses
            and snapshot.payments.get(pid, {}).get("status") != "settlement"
        ):
            verdict.fail(f"{pid}: a settlement notification was answered 200 but not applied")
    for pid, row in snapshot.payments.items():
        if row["status"] != "pending" and truth.get(pid) != row["status"]:
            verdict.fail(f"{pid} is {row['status']}, Midtrans says {truth.get(pid)}")
    for pid, status in truth.items():
        if status == "settlement" and pid not in snapshot.settled():
            verdict.fail(f"{pid}: Midtrans settled it, Lunas still has it {_status(snapshot, pid)}")

    _check_webhooks(verdict, snapshot, merchant)
    _check_logs(verdict, ledger, logs, access_logs)
    verdict.counts.update(
        accepted=len(accepted),
        abandoned=len(ledger.abandoned),
        settled=len(snapshot.settled()),
        pending=sum(1 for row in snapshot.payments.values() if row["status"] == "pending"),
        webhook_requests=len(merchant.received),
    )
    return verdict


def _status(snapshot: Snapshot, pid: str) -> str:
    row = snapshot.payments.get(pid)
    return row["status"] if row else "unknown"


def _check_webhooks(verdict: Verdict, snapshot: Snapshot, merchant: MerchantReceiver) -> None:
    received: dict[str, list] = defaultdict(list)
    for request in list(merchant.received):
        received[request.headers.get("webhook-id")].append(request)
    ids_by_purchase: dict[str, set[str]] = defaultdict(set)
    for webhook_id, requests_ in received.items():
        for request in requests_:
            if request.problem is not None:
                verdict.fail(f"webhook {webhook_id} did not verify on arrival: {request.problem}")
                continue
            body = json.loads(request.body)
            if body.get("event") == "item.purchased":
                ids_by_purchase[body["purchase_id"]].add(webhook_id)
    for pid in snapshot.settled():
        deliveries = snapshot.purchased.get(pid, [])
        if len(deliveries) != 1:
            verdict.fail(f"{pid} is settled with {len(deliveries)} item.purchased events")
            continue
        [delivery] = deliveries
        if delivery["status"] != "delivered" or delivery["id"] not in received:
            verdict.fail(f"{pid}: item.purchased {delivery['id']} is {delivery['status']},"
                         f" received {len(received.get(delivery['id'], []))} times")  # fmt: skip
    for pid, ids in ids_by_purchase.items():
        if pid not in snapshot.settled():
            verdict.fail(
                f"the merchant was told {pid} was purchased; it is {_status(snapshot, pid)}"
            )
        if len(ids) > 1:
            verdict.fail(f"the merchant got {len(ids)} different item.purchased events for {pid}")
    verdict.counts["webhook_ids"] = len(received)
    verdict.counts["redelivered"] = sum(len(r) - 1 for r in received.values())


def _check_logs(verdict: Verdict, ledger: Ledger, logs: list[Path], access_logs: list[Path]):
    for phase, kind, outcome in list(ledger.answers):
        if outcome == "500":
            verdict.fail(f"a {kind} was answered 500 during {phase}")
    for log in access_logs:
        if not log.exists():
            continue
        for line in log.read_text(errors="replace").splitlines():
            found = ACCESS_STATUS.search(line)
            if found and found.group(1) == "500":
                verdict.fail(f"{log.name}: {line[:300]}")
    tracebacks = 0
    for log in logs:
        if not log.exists():
            continue
        for line in log.read_text(errors="replace").splitlines():
            if UNHANDLED in line:
                verdict.fail(f"{log.name}: {_message(line)[:300]}")
            tracebacks += TRACEBACK in line or '"exception": ' in line
    verdict.counts["logged_tracebacks"] = tracebacks


def _message(line: str) -> str:
    try:
        record = json.loads(line)
    except ValueError:
        return line
    return f"{record.get('message')} {record.get('exception', '')}"
