"""Standard Webhooks signatures (v1, HMAC-SHA256 of "{id}.{timestamp}.{body}"), made by the
specification's own library, the one merchants verify with."""

from __future__ import annotations

from datetime import UTC, datetime

from standardwebhooks import Webhook

SECRET_PREFIX = "whsec_"  # noqa: S105  (a prefix, not a secret)


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    moment = datetime.fromtimestamp(timestamp, UTC)
    # Our bodies are UTF-8 JSON (written by json.dumps), so the text is the bytes sent.
    return Webhook(secret).sign(message_id, moment, body.decode("utf-8"))


def signature_header(secrets: list[str], message_id: str, timestamp: int, body: bytes) -> str:
    """Space-separated signatures: during a rotation grace period both secrets sign."""
    return " ".join(sign(secret, message_id, timestamp, body) for secret in secrets)
