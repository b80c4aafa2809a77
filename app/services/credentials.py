"""API credentials: client_id is public, client_secret is shown once and stored as a hash."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import select

from app.extensions import db
from app.models import ApiClient, ClientSecret, Environment
from app.models.base import utcnow
from app.security import hash_secret, random_token

_PREFIXES = {
    Environment.SANDBOX: ("lk_test_", "sk_test_"),
    Environment.PRODUCTION: ("lk_live_", "sk_live_"),
}
_DUMMY_HASH = hash_secret("lunas-dummy-secret")


@dataclass(frozen=True)
class IssuedSecret:
    client_id: str
    client_secret: str


def new_api_client(project_id: str, environment: Environment) -> tuple[ApiClient, str]:
    """An ApiClient with its first secret, added to the session (the caller commits)."""
    client_prefix, _ = _PREFIXES[environment]
    client = ApiClient(
        project_id=project_id, environment=environment, client_id=client_prefix + random_token(24)
    )
    db.session.add(client)
    secret = _add_secret(client, environment)
    return client, secret


def rotate_secret(client: ApiClient, revoke_old_now: bool = False) -> IssuedSecret:
    """A new secret; the old ones stay valid for the grace period unless revoked now."""
    now = utcnow()
    grace_end = now + timedelta(hours=current_app.config["CREDENTIAL_GRACE_HOURS"])
    for old in _live_secrets(client.id):
        if revoke_old_now:
            old.revoked_at = now
        elif old.expires_at is None or old.expires_at > grace_end:
            old.expires_at = grace_end
    secret = _add_secret(client, Environment(client.environment))
    db.session.commit()
    return IssuedSecret(client.client_id, secret)


def authenticate(client_id: str, client_secret: str) -> ApiClient | None:
    """The ApiClient whose id and a live secret both match, compared in constant time."""
    client = db.session.scalar(select(ApiClient).where(ApiClient.client_id == client_id))
    if client is None:
        hmac.compare_digest(hash_secret(client_secret), _DUMMY_HASH)  # same work either way
        return None
    matched = False
    for secret in _live_secrets(client.id):
        # No early exit: every live secret is compared.
        matched |= hmac.compare_digest(hash_secret(client_secret), secret.secret_hash)
    return client if matched else None


def find_api_client(client_id: str) -> ApiClient | None:
    return db.session.scalar(select(ApiClient).where(ApiClient.client_id == client_id))


def _live_secrets(api_client_id: int) -> list[ClientSecret]:
    now = utcnow()
    rows = db.session.scalars(
        select(ClientSecret).where(
            ClientSecret.api_client_id == api_client_id, ClientSecret.revoked_at.is_(None)
        )
    )
    return [row for row in rows if row.expires_at is None or row.expires_at > now]


def _add_secret(client: ApiClient, environment: Environment) -> str:
    _, secret_prefix = _PREFIXES[environment]
    secret = secret_prefix + random_token(48)  # 48 × log2(62) ≈ 285 random bits
    db.session.add(
        ClientSecret(api_client=client, secret_hash=hash_secret(secret), hint=secret[-4:])
    )
    return secret
