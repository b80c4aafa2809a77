"""API credentials: client_id is public, client_secret is shown once and stored as a hash."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from flask import current_app
from sqlalchemy import select

from app.errors import NotFoundError, ServiceError, ValidationError
from app.extensions import db
from app.models import ApiClient, ClientSecret, Environment, Project
from app.models.base import utcnow
from app.security import hash_secret, random_token
from app.services.accounts.standing import ProductionNotApprovedError, production_approved
from app.text import has_nul

_PREFIXES = {
    Environment.SANDBOX: ("lk_test_", "sk_test_"),
    Environment.PRODUCTION: ("lk_live_", "sk_live_"),
}
_DUMMY_HASH = hash_secret("lunas-dummy-secret")


@dataclass(frozen=True)
class IssuedSecret:
    client_id: str
    client_secret: str
    # Until when the secrets it replaced keep working (None: none does any more).
    old_valid_until: datetime | None = None


class SecretState(StrEnum):
    LIVE = "live"
    GRACE = "grace"  # replaced by a rotation, still accepted until expires_at
    EXPIRED = "expired"
    REVOKED = "revoked"


@dataclass(frozen=True)
class SecretSummary:
    """What the portal may show of a secret: never the secret, only its last characters."""

    id: int
    hint: str
    created_at: datetime
    state: SecretState
    until: datetime | None  # the end of the grace, or the time it was revoked

    @property
    def usable(self) -> bool:
        return self.state in (SecretState.LIVE, SecretState.GRACE)


class EmailNotVerifiedError(ServiceError):
    code = "email_not_verified"
    http_status = 403

    def __init__(self, **params: object) -> None:
        super().__init__(
            "confirm your email address (the link we mailed you) before creating production keys",
            **params,
        )


def secret_refusal(project: Project, environment: Environment) -> ServiceError | None:
    """Why this project environment may not hold a secret now, or None. Production secrets
    take real money: only for an owner whose address is proven, on a project an operator
    approved."""
    if environment is not Environment.PRODUCTION:
        return None
    if not project.owner.email_verified:
        return EmailNotVerifiedError()
    if not production_approved(project):
        return ProductionNotApprovedError()
    return None


def may_hold_secret(project: Project, environment: Environment) -> bool:
    return secret_refusal(project, environment) is None


def new_api_client(
    project_id: str, environment: Environment, with_secret: bool = True
) -> tuple[ApiClient, str | None]:
    """An ApiClient with its first secret (unless told not to), added to the session (the
    caller commits)."""
    client_prefix, _ = _PREFIXES[environment]
    client = ApiClient(
        project_id=project_id, environment=environment, client_id=client_prefix + random_token(24)
    )
    db.session.add(client)
    secret = _add_secret(client, environment) if with_secret else None
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
    secret = _add_secret(client, client.environment)
    still_valid = [old.expires_at for old in _live_secrets(client.id) if old.expires_at]
    db.session.commit()
    return IssuedSecret(client.client_id, secret, max(still_valid, default=None))


def api_client_of(project_id: str, environment: Environment, lock: bool = False) -> ApiClient:
    query = select(ApiClient).where(
        ApiClient.project_id == project_id, ApiClient.environment == environment
    )
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    client = db.session.scalar(query)
    if client is None:
        raise NotFoundError("no project %(project_id)s", project_id=repr(project_id))
    return client


def rotate_project_secret(
    project_id: str, environment: Environment, revoke_old_now: bool = False
) -> IssuedSecret:
    """rotate_secret for one project environment. The client row is locked so that two
    rotations at once queue up: the second then sees (and gives a grace to) the first's.
    Refused for production while the owner's email is unverified or the project unapproved."""
    project = db.session.get(Project, project_id)
    if project is None:
        raise NotFoundError("no project %(project_id)s", project_id=repr(project_id))
    refusal = secret_refusal(project, environment)
    if refusal is not None:
        raise refusal
    return rotate_secret(api_client_of(project_id, environment, lock=True), revoke_old_now)


def secrets_of(project_id: str, environment: Environment) -> list[SecretSummary]:
    """Every secret this project environment has had, newest first."""
    rows = db.session.scalars(
        select(ClientSecret)
        .join(ApiClient)
        .where(ApiClient.project_id == project_id, ApiClient.environment == environment)
        .order_by(ClientSecret.created_at.desc(), ClientSecret.id.desc())
    )
    now = utcnow()
    return [_summary(row, environment, now) for row in rows]


def revoke_secret(project_id: str, environment: Environment, secret_id: int) -> SecretSummary:
    """Refused by the API from this moment on. Only a secret of this project environment."""
    secret = db.session.scalar(
        select(ClientSecret)
        .join(ApiClient)
        .where(
            ClientSecret.id == secret_id,
            ApiClient.project_id == project_id,
            ApiClient.environment == environment,
        )
        .with_for_update(of=ClientSecret)
        .execution_options(populate_existing=True)
    )
    if secret is None:
        raise NotFoundError("no secret %(secret_id)s", secret_id=repr(secret_id))
    state, _ = _state(secret, utcnow())
    if state not in (SecretState.LIVE, SecretState.GRACE):
        raise ValidationError("this secret is already %(state)s", state=str(state))
    secret.revoked_at = utcnow()
    db.session.commit()
    return _summary(secret, environment, utcnow())


def authenticate(client_id: str, client_secret: str) -> ApiClient | None:
    """The ApiClient whose id and a live secret both match, compared in constant time."""
    client = find_api_client(client_id)
    if client is None:
        hmac.compare_digest(hash_secret(client_secret), _DUMMY_HASH)  # same work either way
        return None
    matched = False
    for secret in _live_secrets(client.id):
        # No early exit: every live secret is compared.
        matched |= hmac.compare_digest(hash_secret(client_secret), secret.secret_hash)
    return client if matched else None


def find_api_client(client_id: str) -> ApiClient | None:
    if has_nul(client_id):
        return None  # no id of ours has one (and PostgreSQL text cannot hold it)
    return db.session.scalar(select(ApiClient).where(ApiClient.client_id == client_id))


def _live_secrets(api_client_id: int) -> list[ClientSecret]:
    now = utcnow()
    rows = db.session.scalars(
        select(ClientSecret).where(
            ClientSecret.api_client_id == api_client_id, ClientSecret.revoked_at.is_(None)
        )
    )
    return [row for row in rows if row.expires_at is None or row.expires_at > now]


def _summary(secret: ClientSecret, environment: Environment, now: datetime) -> SecretSummary:
    _, secret_prefix = _PREFIXES[environment]
    hint = f"{secret_prefix}…{secret.hint}"
    return SecretSummary(secret.id, hint, secret.created_at, *_state(secret, now))


def _state(secret: ClientSecret, now: datetime) -> tuple[SecretState, datetime | None]:
    if secret.revoked_at is not None:
        return SecretState.REVOKED, secret.revoked_at
    if secret.expires_at is None:
        return SecretState.LIVE, None
    if secret.expires_at > now:
        return SecretState.GRACE, secret.expires_at
    return SecretState.EXPIRED, secret.expires_at


def _add_secret(client: ApiClient, environment: Environment) -> str:
    _, secret_prefix = _PREFIXES[environment]
    secret = secret_prefix + random_token(48)  # 48 × log2(62) ≈ 285 random bits
    db.session.add(
        ClientSecret(api_client=client, secret_hash=hash_secret(secret), hint=secret[-4:])
    )
    return secret
