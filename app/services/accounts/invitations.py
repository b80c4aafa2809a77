"""Who may sign up (REGISTRATION): anyone (`open`), only with an operator's invitation
(`invite`), or nobody (`closed`: operators create users with the CLI).

An invitation is a single-use, expiring link. The link carries a random token; only its
SHA-256 is kept. Using it and creating the account are one transaction: the claim is a
conditional UPDATE (unused, not withdrawn, not expired), so two sign-ups racing with one link
make one account, and a sign-up that fails (the email is taken) leaves the link unused."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from app.errors import NotFoundError, ServiceError
from app.extensions import db
from app.models import Invitation, User
from app.models.base import utcnow
from app.security import hash_secret, random_token
from app.services.accounts import audit
from app.services.accounts.users import EmailTakenError, create_user, normalize_email
from app.text import has_nul

EXPIRY = timedelta(days=7)
SHOWN = 100


class Policy(StrEnum):
    OPEN = "open"
    INVITE = "invite"
    CLOSED = "closed"


class InvitationState(StrEnum):
    PENDING = "pending"
    USED = "used"
    EXPIRED = "expired"
    REVOKED = "revoked"


class RegistrationClosedError(ServiceError):
    code = "registration_closed"
    http_status = 403

    def __init__(self, **params: object) -> None:
        super().__init__(
            "sign-up is closed on this server: ask its operator for an account", **params
        )


class InvitationRequiredError(ServiceError):
    code = "invitation_required"
    http_status = 403

    def __init__(self, **params: object) -> None:
        super().__init__(
            "sign-up on this server is by invitation: ask its operator for an invitation link",
            **params,
        )


class InvitationInvalidError(ServiceError):
    code = "invitation_invalid"
    http_status = 403

    def __init__(self, **params: object) -> None:
        super().__init__(
            "this invitation link cannot be used (it was used, withdrawn or has expired): "
            "ask the operator for a new one",
            **params,
        )


class InvitationForAnotherEmailError(ServiceError):
    code = "invitation_invalid"
    http_status = 403

    def __init__(self, email: str, **params: object) -> None:
        super().__init__("this invitation is for %(email)s", field="email", email=email, **params)


@dataclass(frozen=True)
class IssuedInvitation:
    invitation: Invitation
    url: str  # the only time the link exists in plain text


def policy() -> Policy:
    return Policy(current_app.config["REGISTRATION"])


def create_invitation(actor: User | None, email: str | None = None) -> IssuedInvitation:
    """A new link; `email` limits it to that address. `actor` None: the CLI."""
    address = normalize_email(email) if email and email.strip() else None
    token = random_token(40)
    invitation = Invitation(
        token_hash=hash_secret(token), email=address, created_by=actor, expires_at=utcnow() + EXPIRY
    )
    db.session.add(invitation)
    db.session.flush()
    audit.record(actor, "invitation.create", address or "anyone", f"invitation {invitation.id}")
    db.session.commit()
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    return IssuedInvitation(invitation, f"{base}/register?invitation={token}")


def revoke_invitation(invitation_id: int, actor: User | None) -> Invitation:
    invitation = db.session.get(Invitation, invitation_id)
    if invitation is None:
        raise NotFoundError("no invitation %(invitation_id)s", invitation_id=repr(invitation_id))
    if state_of(invitation, utcnow()) is InvitationState.PENDING:
        invitation.revoked_at = utcnow()
        audit.record(
            actor, "invitation.revoke", invitation.email or "anyone", f"invitation {invitation.id}"
        )
        db.session.commit()
    return invitation


def usable_invitation(token: str | None) -> Invitation | None:
    """The pending invitation this link's token opens, or None."""
    if not token or len(token) > 100 or has_nul(token):
        return None
    invitation = db.session.scalar(
        select(Invitation).where(Invitation.token_hash == hash_secret(token))
    )
    if invitation is None or state_of(invitation, utcnow()) is not InvitationState.PENDING:
        return None
    return invitation


def check_may_register(token: str | None) -> Invitation | None:
    """Whether the sign-up form may be shown: the invitation it needs (None: none needed), or
    the reason it may not."""
    current = policy()
    if current is Policy.CLOSED:
        raise RegistrationClosedError()
    if current is Policy.OPEN:
        return None
    invitation = usable_invitation(token)
    if invitation is None:
        raise InvitationInvalidError() if token else InvitationRequiredError()
    return invitation


def register(email: str, password: str, token: str | None = None) -> User:
    """A new portal user (unverified) under the policy, using the invitation if one is needed."""
    invitation = check_may_register(token)
    if invitation is None:
        return create_user(email, password)
    address = normalize_email(email)
    if invitation.email and invitation.email != address:
        raise InvitationForAnotherEmailError(invitation.email)
    now = utcnow()
    claimed = db.session.execute(
        update(Invitation)
        .where(
            Invitation.id == invitation.id,
            Invitation.used_at.is_(None),
            Invitation.revoked_at.is_(None),
            Invitation.expires_at > now,
        )
        .values(used_at=now)
    ).rowcount
    if claimed != 1:
        db.session.rollback()
        raise InvitationInvalidError()
    try:
        user = create_user(address, password, commit=False)
        db.session.flush()
        db.session.execute(
            update(Invitation).where(Invitation.id == invitation.id).values(used_by_id=user.id)
        )
        db.session.commit()
    except IntegrityError:
        db.session.rollback()  # the link stays unused
        raise EmailTakenError() from None
    except ServiceError:
        db.session.rollback()
        raise
    return user


def state_of(invitation: Invitation, now: datetime) -> InvitationState:
    if invitation.used_at is not None:
        return InvitationState.USED
    if invitation.revoked_at is not None:
        return InvitationState.REVOKED
    if invitation.expires_at <= now:
        return InvitationState.EXPIRED
    return InvitationState.PENDING


def recent_invitations(limit: int = SHOWN) -> list[tuple[Invitation, InvitationState]]:
    now = utcnow()
    rows = db.session.scalars(
        select(Invitation).order_by(Invitation.created_at.desc(), Invitation.id.desc()).limit(limit)
    )
    return [(row, state_of(row, now)) for row in rows]
