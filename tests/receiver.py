"""A merchant's webhook endpoint: a local HTTP server that records every delivery and answers
as a test programs it. Verification uses the public `standardwebhooks` library, exactly as a
merchant would."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks import Webhook, WebhookVerificationError


@dataclass(frozen=True)
class Reply:
    status: int = 200
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b"ok"


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float
    # When the receiver verifies on arrival (`verify_with`), as a merchant's endpoint does:
    # None if the signature was good then, else why not.
    problem: str | None = None

    def verify(self, secret: str) -> dict:
        """Raises standardwebhooks.WebhookVerificationError unless the signature is good."""
        return Webhook(secret).verify(self.body, self.headers)


class MerchantReceiver:
    def __init__(
        self,
        replies: list[Reply] | None = None,
        default: Reply | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        self.replies = list(replies or [])  # answered in order, then `default`
        self.default = default or Reply()
        self.received: list[Received] = []
        self.verify_with: str | None = None  # a signing secret: verify each request on arrival
        self._arrived = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                headers = dict(self.headers)
                problem = None
                if receiver.verify_with is not None:
                    try:
                        Webhook(receiver.verify_with).verify(body, headers)
                    except WebhookVerificationError as error:
                        problem = str(error) or type(error).__name__
                with receiver._arrived:
                    receiver.received.append(
                        Received(self.path, headers, body, time.time(), problem)
                    )
                    reply = receiver.replies.pop(0) if receiver.replies else receiver.default
                    receiver._arrived.notify_all()
                if reply.delay:
                    time.sleep(reply.delay)
                try:
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self._handler = Handler
        self._listen(host, 0)
        self.url = f"http://{host}:{self._server.server_port}/hooks/lunas"

    def _listen(self, host: str, port: int) -> None:
        self._server = ThreadingHTTPServer((host, port), self._handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )

    def __enter__(self) -> MerchantReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.go_down()

    def go_down(self) -> None:
        """The merchant's server is away: its port refuses connections."""
        self._server.shutdown()
        self._server.server_close()

    def come_back(self) -> None:
        """Listening again on the same address and port."""
        host, port = self._server.server_address[:2]
        self._listen(host, port)
        self._thread.start()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """Block until `count` requests have arrived (AssertionError after `timeout`)."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(self.received) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"expected {count} deliveries within {timeout} s, got {len(self.received)}"
                    )
                self._arrived.wait(left)
            return list(self.received)
