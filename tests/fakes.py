"""A local HTTP server speaking Midtrans's wire format, with answers a test can program."""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

from app.midtrans.timefmt import format_midtrans_time
from app.models.base import utcnow
from tests.helpers import SNAP

SNAP_UNAUTHORIZED = (
    "Access denied due to unauthorized transaction, please check client or server key"
)


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class Answer:
    status: int
    body: Any
    delay: float = 0.0


@dataclass
class FakeMidtrans:
    server_key: str
    requests: list[Recorded] = field(default_factory=list)
    # None → a fresh 201 {token, redirect_url} for every Snap create.
    snap_answer: Answer | None = None
    # order_id → Get Status answer; unknown ids get Midtrans's HTTP 200 / "404" body.
    status_answers: dict[str, Answer] = field(default_factory=dict)
    status_default: Answer | None = None
    # "{order_id}/{action}" (refund, refund/online/direct, cancel, expire) → a programmed
    # answer; otherwise the fake acts as Midtrans does on the transaction Get Status shows.
    action_answers: dict[str, Answer] = field(default_factory=dict)

    def start(self, host: str = "127.0.0.1") -> None:
        """Serve on a spare port of `host` (another address where Lunas runs on another
        network, as in the chaos suite)."""
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def do_POST(self):
                fake._handle(self, "POST")

            def do_GET(self):
                fake._handle(self, "GET")

        self._server = ThreadingHTTPServer((host, 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://{host}:{self._server.server_port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # -- programming helpers -------------------------------------------------------------

    def set_status(self, order_id: str, transaction_status: str, gross_amount: str, **extra):
        code = {"pending": "201", "expire": "407", "deny": "202"}.get(transaction_status, "200")
        body = {
            "status_code": code,
            "status_message": "Success, transaction is found",
            "transaction_id": extra.pop("transaction_id", str(uuid.uuid4())),
            "order_id": order_id,
            "gross_amount": gross_amount,
            "currency": "IDR",
            "payment_type": extra.pop("payment_type", "bank_transfer"),
            # Now, as Midtrans reports a transaction just made (a fixed date would
            # become a past day, which the overview treats differently).
            "transaction_time": format_midtrans_time(utcnow()),
            "transaction_status": transaction_status,
            "fraud_status": "accept",
        }
        body.update(extra)
        self.status_answers[order_id] = Answer(200, body)
        return body

    def calls(self, method: str, prefix: str) -> list[Recorded]:
        return [r for r in self.requests if r.method == method and r.path.startswith(prefix)]

    # -- the server ----------------------------------------------------------------------

    def _handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode(errors="replace")
        self.requests.append(Recorded(method, handler.path, dict(handler.headers), body))
        answer = self._answer(handler, method)
        if answer.delay:
            time.sleep(answer.delay)
        payload = (
            json.dumps(answer.body).encode() if not isinstance(answer.body, bytes) else answer.body
        )
        try:
            handler.send_response(answer.status)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(payload)))
            handler.end_headers()
            handler.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _answer(self, handler: BaseHTTPRequestHandler, method: str) -> Answer:
        expected = "Basic " + base64.b64encode(f"{self.server_key}:".encode()).decode()
        authorized = handler.headers.get("Authorization") == expected
        if method == "POST" and handler.path == SNAP:
            if not authorized:
                return Answer(401, {"error_messages": [SNAP_UNAUTHORIZED]})
            if self.snap_answer is not None:
                return self.snap_answer
            token = str(uuid.uuid4())
            return Answer(
                201, {"token": token, "redirect_url": f"{self.url}/snap/v4/redirection/{token}"}
            )
        if method == "GET" and handler.path.startswith("/v2/") and handler.path.endswith("/status"):
            if not authorized:
                return Answer(
                    401, {"status_code": "401", "status_message": "Unknown Merchant server_key/id"}
                )
            order_id = unquote(handler.path[len("/v2/") : -len("/status")])
            if order_id in self.status_answers:
                return self.status_answers[order_id]
            if self.status_default is not None:
                return self.status_default
            return Answer(
                200,
                {
                    "status_code": "404",
                    "status_message": "Transaction doesn't exist.",
                    "id": str(uuid.uuid4()),
                },
            )
        if method == "POST" and handler.path.startswith("/v2/"):
            if not authorized:
                return Answer(
                    401, {"status_code": "401", "status_message": "Unknown Merchant server_key/id"}
                )
            order_id, _, action = handler.path[len("/v2/") :].partition("/")
            order_id = unquote(order_id)
            if f"{order_id}/{action}" in self.action_answers:
                return self.action_answers[f"{order_id}/{action}"]
            return self._act(order_id, action, self.requests[-1].body or {})
        return Answer(404, {"error_messages": ["not found"]})

    def _act(self, order_id: str, action: str, body: dict[str, Any]) -> Answer:
        """Midtrans's refund, cancel and expire on the transaction Get Status shows."""
        status = self.status_answers.get(order_id)
        if status is None or status.body.get("status_code") == "404":
            return Answer(
                200, {"status_code": "404", "status_message": "Transaction doesn't exist."}
            )
        transaction = status.body
        current = transaction["transaction_status"]
        if action in ("cancel", "expire") and current in ("pending", "authorize", "capture"):
            code = "407" if action == "expire" else "200"
            self.set_status(
                order_id,
                action,
                transaction["gross_amount"],
                transaction_id=transaction["transaction_id"],
                payment_type=transaction["payment_type"],
            )
            return Answer(200, {**self.status_answers[order_id].body, "status_code": code})
        if action.startswith("refund") and current in ("settlement", "partial_refund"):
            refunds = transaction.setdefault("refunds", [])
            for made in refunds:
                if made["refund_key"] == body.get("refund_key"):
                    return Answer(200, {**transaction, **made, "status_code": "200"})
            gross = int(float(transaction["gross_amount"]))
            total = sum(int(float(made["refund_amount"])) for made in refunds)
            amount = body.get("amount", gross - total)
            if total + amount > gross:
                return Answer(
                    200, {"status_code": "414", "status_message": "Refund amount exceeds"}
                )
            made = {
                "refund_chargeback_id": len(refunds) + 1,
                "refund_amount": f"{amount}.00",
                "created_at": format_midtrans_time(utcnow()),
                "reason": body.get("reason", ""),
                "refund_key": body.get("refund_key"),
            }
            refunds.append(made)
            transaction["refund_amount"] = f"{total + amount}.00"
            transaction["transaction_status"] = (
                "refund" if total + amount == gross else "partial_refund"
            )
            return Answer(
                200,
                {
                    **transaction,
                    **made,
                    "status_code": "200",
                    "status_message": "Success, refund request is approved",
                },
            )
        return Answer(
            200,
            {
                "status_code": "412",
                "status_message": "Merchant cannot modify the status of the transaction",
            },
        )
