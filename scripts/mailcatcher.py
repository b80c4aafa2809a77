"""The local mail catcher `make run` starts: an SMTP server on 127.0.0.1:1025 that keeps every
message it is given (in memory; nothing leaves the machine) and a page on
http://127.0.0.1:1080 that shows them, newest first, with their links clickable, so the
verification and password reset mails of a development run can be opened."""

from __future__ import annotations

import argparse
import html
import re
import threading
import time
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller

LINK = re.compile(r"(https?://[^\s<>\"]+)")
KEEP = 200


class Catcher:
    def __init__(self) -> None:
        self.messages: list[dict[str, str]] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook)
        message = message_from_bytes(envelope.original_content, policy=policy.default)
        body = message.get_body(preferencelist=("plain", "html"))
        entry = {
            "received": time.strftime("%Y-%m-%d %H:%M:%S"),
            "from": str(message["From"] or ""),
            "to": str(message["To"] or ", ".join(envelope.rcpt_tos)),
            "subject": str(message["Subject"] or "(no subject)"),
            "text": body.get_content() if body is not None else "",
        }
        with self.lock:
            self.messages.insert(0, entry)
            del self.messages[KEEP:]
        print(f"mail: {entry['subject']!r} to {entry['to']}", flush=True)
        return "250 Message accepted for delivery"

    def page(self) -> str:
        with self.lock:
            messages = list(self.messages)
        items = "".join(
            "<article><h2>{subject}</h2><p class=meta>{received} · from {sender} · to {to}</p>"
            "<pre>{text}</pre></article>".format(
                subject=html.escape(m["subject"]),
                received=html.escape(m["received"]),
                sender=html.escape(m["from"]),
                to=html.escape(m["to"]),
                text=LINK.sub(r'<a href="\1">\1</a>', html.escape(m["text"], quote=False)),
            )
            for m in messages
        )
        return (
            "<!doctype html><html lang=en><meta charset=utf-8>"
            "<meta name=viewport content='width=device-width'>"
            "<meta http-equiv=refresh content=5><title>Lunas mail catcher</title>"
            "<style>body{font:15px system-ui;margin:2rem;max-width:50rem}"
            "article{border:1px solid #ccc;border-radius:6px;padding:0 1rem;margin:1rem 0}"
            ".meta{color:#666}pre{white-space:pre-wrap}</style>"
            f"<h1>Mail caught by Lunas's development server ({len(messages)})</h1>"
            + (items or "<p>No mail yet. Register or ask for a password reset.</p>")
        )


def serve(smtp_port: int, http_port: int) -> None:
    catcher = Catcher()
    controller = Controller(catcher, hostname="127.0.0.1", port=smtp_port)
    controller.start()

    class Page(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's hook)
            body = catcher.page().encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    print(f"mail catcher: SMTP on 127.0.0.1:{smtp_port}, mail at http://127.0.0.1:{http_port}")
    try:
        ThreadingHTTPServer(("127.0.0.1", http_port), Page).serve_forever()
    finally:
        controller.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smtp-port", type=int, default=1025)
    parser.add_argument("--http-port", type=int, default=1080)
    arguments = parser.parse_args()
    serve(arguments.smtp_port, arguments.http_port)
