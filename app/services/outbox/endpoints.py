"""Where a project environment's webhooks go: the URL (validated, never a private address when
the guard is on) and the signing secrets, encrypted at rest, two of them during a rotation."""

from __future__ import annotations

import base64
import ipaddress
import secrets
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import select, update

from app.errors import NotFoundError, ValidationError
from app.extensions import db
from app.models import (
    DEFAULT_EVENTS,
    DeliveryStatus,
    Environment,
    EventType,
    WebhookDelivery,
    WebhookEndpoint,
)
from app.models.base import utcnow
from app.security import decrypt, encrypt
from app.services.outbox import circuit, state
from app.services.outbox.queue import enqueue
from app.services.outbox.signing import SECRET_PREFIX
from app.services.outbox.transport import forbidden_reason
from app.services.urls import require_scheme

MAX_URL_LENGTH = 2000


@dataclass(frozen=True)
class SigningSecrets:
    current: str
    previous: str | None  # still signs beside the current one until previous_expires_at
    previous_expires_at: datetime | None


def new_webhook_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def add_endpoint(project_id: str, environment: Environment, url: str | None) -> str:
    """A new project environment's endpoint, added to the caller's transaction. `url` must
    have passed validate_webhook_url. Returns the signing secret (shown once)."""
    secret = new_webhook_secret()
    db.session.add(
        WebhookEndpoint(
            project_id=project_id,
            environment=environment,
            url=url,
            secret_ciphertext=encrypt(secret),
        )
    )
    return secret


def endpoint_for(project_id: str, environment: Environment) -> WebhookEndpoint | None:
    return db.session.scalar(
        select(WebhookEndpoint).where(
            WebhookEndpoint.project_id == project_id,
            WebhookEndpoint.environment == environment,
        )
    )


def endpoint_of(project_id: str, environment: Environment) -> WebhookEndpoint:
    """The project environment's endpoint (NotFoundError for a project that does not exist)."""
    endpoint = endpoint_for(project_id, environment)
    if endpoint is None:
        raise NotFoundError("no project %(id)s", id=repr(project_id))
    return endpoint


def has_url(endpoint: WebhookEndpoint | None) -> bool:
    return endpoint is not None and bool(endpoint.url)


def subscribed_events(endpoint: WebhookEndpoint) -> list[str]:
    """The event types the endpoint receives, in the order EventType lists them."""
    chosen = set(endpoint.events) if endpoint.events is not None else set(DEFAULT_EVENTS)
    return [str(kind) for kind in EventType if kind in chosen]


def subscribed(endpoint: WebhookEndpoint | None, event_type: EventType) -> bool:
    if endpoint is None:
        return event_type in DEFAULT_EVENTS
    return str(event_type) in subscribed_events(endpoint)


def parse_event_names(names: object, field: str = "events") -> list[str]:
    """Event type names a merchant sent; ValidationError naming the first unknown one."""
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        raise ValidationError("%(name)s must be a list of event names", field, name=field)
    known = {str(kind) for kind in EventType}
    for name in names:
        if name not in known:
            raise ValidationError(
                "unknown event %(event)s (one of %(known)s)",
                field,
                event=repr(name[:60]),
                known=", ".join(sorted(known)),
            )
    return [str(kind) for kind in EventType if kind in set(names)]


def configure_endpoint(
    project_id: str,
    environment: Environment,
    events: list[str] | None = None,
    url: str | None = None,
    change_url: bool = False,
) -> WebhookEndpoint:
    """Subscribe the endpoint to exactly `events` (from parse_event_names; None leaves them)
    and, with change_url, set its URL as set_endpoint_url does. Both are checked before
    either changes: a refused URL changes no subscription. Commits."""
    if change_url:
        validate_webhook_url(url, "url")
    endpoint = endpoint_of(project_id, environment)
    if events is not None:
        endpoint.events = list(events)
    if change_url:
        set_endpoint_url(project_id, environment, url)
    else:
        db.session.commit()
    return endpoint_of(project_id, environment)


def signing_secrets(endpoint: WebhookEndpoint, now: datetime) -> list[str]:
    secrets_now = [decrypt(endpoint.secret_ciphertext)]
    if previous_secret_until(endpoint, now) is not None:
        secrets_now.append(decrypt(endpoint.previous_secret_ciphertext))
    return secrets_now


def previous_secret_until(endpoint: WebhookEndpoint, now: datetime | None = None):
    """While a rotation's grace runs: until when the previous secret still signs."""
    until = endpoint.previous_secret_expires_at
    if endpoint.previous_secret_ciphertext and until and until > (now or utcnow()):
        return until
    return None


def reveal_signing_secrets(project_id: str, environment: Environment) -> SigningSecrets:
    endpoint = endpoint_of(project_id, environment)
    current, *previous = signing_secrets(endpoint, utcnow())
    if not previous:
        return SigningSecrets(current, None, None)
    return SigningSecrets(current, previous[0], endpoint.previous_secret_expires_at)


def set_endpoint_url(project_id: str, environment: Environment, url: str | None) -> list[str]:
    """Change the URL; events that were waiting for one become due now. Returns their ids.
    A new URL closes the endpoint's circuit: what failed before says nothing about it."""
    endpoint = endpoint_of(project_id, environment)
    url = validate_webhook_url(url)
    if url != endpoint.url:
        circuit.apply(endpoint, circuit.closed())
    endpoint.url = url
    released: list[str] = []
    if endpoint.url:
        released = list(
            db.session.scalars(
                update(WebhookDelivery)
                .where(
                    WebhookDelivery.project_id == project_id,
                    WebhookDelivery.environment == environment,
                    WebhookDelivery.status == DeliveryStatus.WAITING_FOR_ENDPOINT,
                )
                .values(**state.released(utcnow()))
                .returning(WebhookDelivery.id)
            )
        )
    db.session.commit()
    enqueue(released)
    return released


def rotate_secret(project_id: str, environment: Environment) -> str:
    """A new signing secret; the old one keeps signing beside it for the grace period."""
    endpoint = endpoint_of(project_id, environment)
    secret = new_webhook_secret()
    grace = timedelta(hours=current_app.config["CREDENTIAL_GRACE_HOURS"])
    endpoint.previous_secret_ciphertext = endpoint.secret_ciphertext
    endpoint.previous_secret_expires_at = utcnow() + grace
    endpoint.secret_ciphertext = encrypt(secret)
    db.session.commit()
    return secret


def validate_webhook_url(url: str | None, field: str = "webhook_url") -> str | None:
    if url is None or url.strip() == "":
        return None
    url = url.strip()
    if len(url) > MAX_URL_LENGTH or any(ch.isspace() for ch in url):
        raise ValidationError("webhook URL must be a URL of at most 2000 characters", field)
    parts = urlsplit(url)
    require_scheme(parts, field, https_only=current_app.config["WEBHOOK_REQUIRE_HTTPS"])
    if not parts.hostname or "@" in parts.netloc:
        raise ValidationError("webhook URL needs a host and no user name", field)
    if not current_app.config["WEBHOOK_ALLOW_PRIVATE_TARGETS"]:
        reason = _unsafe_host(parts.hostname)
        if reason:
            raise _unreachable(reason, field)
    return url


def _unreachable(reason: str, field: str) -> ValidationError:
    """The refusal of a host `forbidden_reason` names: one sentence per reason, so that each is
    translated whole."""
    return {
        "loopback": lambda: ValidationError(
            "webhook URL must be reachable on the internet, not a loopback address", field
        ),
        "private": lambda: ValidationError(
            "webhook URL must be reachable on the internet, not a private address", field
        ),
        "link-local": lambda: ValidationError(
            "webhook URL must be reachable on the internet, not a link-local address", field
        ),
        "multicast": lambda: ValidationError(
            "webhook URL must be reachable on the internet, not a multicast address", field
        ),
        "reserved": lambda: ValidationError(
            "webhook URL must be reachable on the internet, not a reserved address", field
        ),
        "unspecified": lambda: ValidationError(
            "webhook URL must be reachable on the internet, not a unspecified address", field
        ),
        "not globally routable": lambda: ValidationError(
            "webhook URL must be reachable on the internet, not a not globally routable address",
            field,
        ),
    }[reason]()


def _unsafe_host(hostname: str) -> str | None:
    """Why a literal host is no place for a webhook (None for a name: the delivery's transport
    guard checks the address it resolves to at send time, which is the check that counts)."""
    host = hostname.lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return "loopback"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        try:
            # The resolver also reads shorthand IPv4 ("127.1", "0x7f000001", "2130706433").
            address = ipaddress.IPv4Address(socket.inet_aton(host))
        except (OSError, ValueError):
            return None
    return forbidden_reason(str(address))
