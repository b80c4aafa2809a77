"""Sending one message over SMTP_URL: `smtp://[user:pass@]host[:port]` (STARTTLS when the
server offers it, and required before a password is sent to a host other than this machine),
or `smtps://` for TLS from the first byte."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from urllib.parse import SplitResult, unquote, urlsplit

from app.hosts import is_loopback_host

SMTP_TIMEOUT_SECONDS = 10


class MailConfigError(RuntimeError):
    """SMTP_URL is missing or cannot be used as given."""


def send(smtp_url: str, message: EmailMessage) -> None:
    """Raises smtplib.SMTPException or OSError when the server refuses or cannot be reached
    (the queue retries those)."""
    if not smtp_url:
        raise MailConfigError("SMTP_URL is not set: no mail can be sent")
    parts = urlsplit(smtp_url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise MailConfigError("SMTP_URL must look like smtp://user:pass@host:587")
    with session(parts) as (server, _):
        server.send_message(message)


@contextmanager
def session(parts: SplitResult) -> Iterator[tuple[smtplib.SMTP, bool]]:
    """A logged-in SMTP session for a parsed SMTP_URL, and whether it is encrypted (smtps, or
    STARTTLS). The password is sent only encrypted, or to this machine. `flask doctor` opens
    one the same way, sending nothing."""
    context = ssl.create_default_context()
    if parts.scheme == "smtps":
        server: smtplib.SMTP = smtplib.SMTP_SSL(
            parts.hostname, parts.port or 465, timeout=SMTP_TIMEOUT_SECONDS, context=context
        )
    else:
        server = smtplib.SMTP(parts.hostname, parts.port or 587, timeout=SMTP_TIMEOUT_SECONDS)
    with server:
        server.ehlo()
        encrypted = parts.scheme == "smtps"
        if parts.scheme == "smtp" and server.has_extn("starttls"):
            server.starttls(context=context)
            server.ehlo()
            encrypted = True
        elif parts.scheme == "smtp" and parts.username and not is_loopback_host(parts.hostname):
            raise MailConfigError(
                "the SMTP server does not offer STARTTLS: not sending the password in clear"
            )
        if parts.username:
            server.login(unquote(parts.username), unquote(parts.password or ""))
        yield server, encrypted
