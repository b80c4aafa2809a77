"""A local Midtrans for the benchmarks (Get Status, Snap create): answers at once, never the
bottleneck.

    python bench/fake_midtrans_status.py --port 18081 --server-key KEY --payments payments.txt

`--payments` is a file of `order_id gross_amount` lines (written by the seeder); each of those
order ids answers `settlement` with that amount (Midtrans's Get Status body, HTTP 200), any
other id gets Midtrans's HTTP 200 / `"status_code": "404"` body, a wrong Basic key gets 401.

Why not tests/fakes.py: its ThreadingHTTPServer starts a thread per connection, parses with
http.server and records every request; Lunas opens a new connection for each Get Status call, so
under load that fake spends more CPU per answer than the notification endpoint itself can spare
on a 2-core machine. This is a single asyncio Protocol (no framework, pre-rendered headers, one
dict lookup per request); `--processes N` forks N copies sharing the port with SO_REUSEPORT.
On SIGTERM/SIGINT each process prints how many requests it answered to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import uuid
from urllib.parse import unquote

NOT_FOUND = json.dumps(
    {"status_code": "404", "status_message": "Transaction doesn't exist.", "id": "bench"}
).encode()
UNAUTHORIZED = json.dumps(
    {"status_code": "401", "status_message": "Unknown Merchant server_key/id"}
).encode()
NO_ROUTE = json.dumps({"error_messages": ["not found"]}).encode()
PREFIX = b"/v2/"
JAKARTA = dt.timezone(dt.timedelta(hours=7))
MIDTRANS_TIME = "%Y-%m-%d %H:%M:%S"
SUFFIX = b"/status"


SNAP_SUFFIX = b"/snap/v1/transactions"  # Snap create (the item checkout bench)


def status_body(order_id: str, gross_amount: str) -> bytes:
    # Settled a moment ago, in Midtrans's own clock (Asia/Jakarta, no zone in the text): a
    # flash sale's payments are paid today, so no stored day total is touched.
    now = dt.datetime.now(JAKARTA)
    return json.dumps(
        {
            "status_code": "200",
            "status_message": "Success, transaction is found",
            "transaction_id": str(uuid.uuid5(uuid.NAMESPACE_URL, "lunas-bench/" + order_id)),
            "order_id": order_id,
            "gross_amount": gross_amount,
            "currency": "IDR",
            "payment_type": "bank_transfer",
            "transaction_time": (now - dt.timedelta(minutes=1)).strftime(MIDTRANS_TIME),
            "settlement_time": now.strftime(MIDTRANS_TIME),
            "transaction_status": "settlement",
            "fraud_status": "accept",
        }
    ).encode()


def response(status: int, reason: str, body: bytes) -> bytes:
    head = (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    return head + body


class Answers:
    def __init__(self, server_key: str, amounts: dict[str, str]) -> None:
        self.authorization = b"Basic " + base64.b64encode(f"{server_key}:".encode())
        self.amounts = amounts
        self.served = 0

    def answer(self, request_line: bytes, headers: bytes, lowered: bytes) -> bytes:
        self.served += 1
        parts = request_line.split(b" ")
        path = parts[1] if len(parts) >= 2 else b""
        snap_create = parts[0] == b"POST" and path.endswith(SNAP_SUFFIX)
        status = parts[0] == b"GET" and path.startswith(PREFIX) and path.endswith(SUFFIX)
        if not (snap_create or status):
            return response(404, "Not Found", NO_ROUTE)
        at = lowered.find(b"\r\nauthorization:")
        value = b""
        if at >= 0:
            value = headers[at + 16 : headers.find(b"\r\n", at + 2)].strip()
        if value != self.authorization:
            return response(401, "Unauthorized", UNAUTHORIZED)
        if snap_create:
            token = uuid.uuid4().hex
            body = json.dumps(
                {"token": token, "redirect_url": f"https://snap.bench/v4/vtweb/{token}"}
            ).encode()
            return response(201, "Created", body)
        order_id = unquote(path[len(PREFIX) : -len(SUFFIX)].decode("latin-1"))
        amount = self.amounts.get(order_id)
        if amount is None:
            return response(200, "OK", NOT_FOUND)
        return response(200, "OK", status_body(order_id, amount))


class Connection(asyncio.Protocol):
    def __init__(self, answers: Answers) -> None:
        self.answers = answers
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[: end + 2]
            line_end = head.find(b"\r\n")
            request_line, headers = head[:line_end], head[line_end:]
            length = 0
            lowered = headers.lower()
            at = lowered.find(b"\r\ncontent-length:")
            if at >= 0:
                value_end = lowered.find(b"\r\n", at + 2)
                length = int(lowered[at + 17 : value_end].strip() or b"0")
            if len(self.buffer) < end + 4 + length:
                return  # wait for the rest of the body
            self.buffer = self.buffer[end + 4 + length :]
            self.transport.write(self.answers.answer(request_line, headers, lowered))
            if b"\r\nconnection: close" in lowered:
                self.transport.close()
                return


def load_amounts(path: str | None) -> dict[str, str]:
    amounts: dict[str, str] = {}
    if path:
        with open(path) as handle:
            for line in handle:
                if line.strip():
                    order_id, amount = line.split()
                    amounts[order_id] = amount
    return amounts


def serve(sock: socket.socket, answers: Answers) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        server = await loop.create_server(lambda: Connection(answers), sock=sock, backlog=1024)
        async with server:
            await stop.wait()

    asyncio.run(main())
    print(f"fake_midtrans_status[{os.getpid()}]: answered {answers.served}", file=sys.stderr)


def spawn(port: int, server_key: str, payments: str) -> subprocess.Popen:
    """This fake in a process of its own (for benches that measure their own CPU)."""
    return subprocess.Popen(
        [sys.executable, __file__, "--port", str(port), "--server-key", server_key]
        + ["--payments", payments],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--server-key", required=True)
    parser.add_argument("--payments", help="file of `order_id gross_amount` lines")
    parser.add_argument("--processes", type=int, default=1)
    args = parser.parse_args()

    answers = Answers(args.server_key, load_amounts(args.payments))
    children = []
    for _ in range(args.processes):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((args.host, args.port))
        sock.listen(1024)
        if args.processes == 1:
            serve(sock, answers)
            return
        pid = os.fork()
        if pid == 0:
            serve(sock, answers)
            os._exit(0)
        sock.close()
        children.append(pid)

    def forward(signum, _frame):
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    for pid in children:
        while True:
            try:
                os.waitpid(pid, 0)
                break
            except ChildProcessError:
                break
            except InterruptedError:
                continue


if __name__ == "__main__":
    main()
