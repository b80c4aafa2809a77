"""Portal sessions kept on the server, so that every way of ending one really ends it.

The browser's (signed) cookie carries a random token; the database keeps only its SHA-256 with
the session's user, times and how it ended. A session stops loading when it was ended (logout,
"log out everywhere", a password change or reset), when it has been idle for
SESSION_IDLE_MINUTES, or SESSION_MAX_DAYS after it started. Logging in always starts a new
one, so nothing planted in a browser before login survives it."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select, update

from app.extensions import db
from app.models import User, UserSession
from app.models.base import utcnow

# last_seen_at is written at most this often, so a busy page does not write on every request
# (the idle timeout is then exact to within this).
TOUCH_EVERY = timedelta(minutes=1)
# Revealing or rotating a secret needs the password typed within this long.
CONFIRMATION_WINDOW = timedelta(minutes=10)


class EndReason:
    LOGOUT = "logout"
    EVERYWHERE = "logged out everywhere"
    PASSWORD_CHANGED = "password changed"  # noqa: S105
    PASSWORD_RESET = "password reset"  # noqa: S105
    IDLE = "idle timeout"
    EXPIRED = "lifetime reached"


@dataclass(frozen=True)
class ActiveSession:
    """What the account page shows of one of the user's open sessions."""

    id: int
    created_at: datetime
    last_seen_at: datetime
    user_agent: str | None
    remote_addr: str | None
    current: bool


def start_session(user: User, user_agent: str | None, remote_addr: str | None) -> str:
    """A new session for a user who has just proven who they are; returns its token (also
    set on the user, whose get_id() Flask-Login stores in the cookie)."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    db.session.add(
        UserSession(
            token_hash=_digest(token),
            user_id=user.id,
            created_at=now,
            last_seen_at=now,
            password_confirmed_at=now,
            user_agent=(user_agent or "")[:200] or None,
            remote_addr=(remote_addr or "")[:64] or None,
        )
    )
    db.session.commit()
    user.session_token = token
    return token


def load_session(token: str) -> User | None:
    """The user of a live session, or None (the browser is then logged out). A session found
    idle or past its lifetime is ended on the way."""
    found = _find(token)
    if found is None or found.ended_at is not None:
        return None
    now = utcnow()
    config = current_app.config
    if now - found.created_at >= timedelta(days=config["SESSION_MAX_DAYS"]):
        _end(found, EndReason.EXPIRED, now)
        return None
    if now - found.last_seen_at >= timedelta(minutes=config["SESSION_IDLE_MINUTES"]):
        _end(found, EndReason.IDLE, now)
        return None
    if now - found.last_seen_at >= TOUCH_EVERY:
        found.last_seen_at = now
        db.session.commit()
    user = found.user
    user.session_token = token
    return user


def end_session(token: str | None, reason: str = EndReason.LOGOUT) -> None:
    found = _find(token) if token else None
    if found is not None and found.ended_at is None:
        _end(found, reason, utcnow())


def end_other_sessions(user: User, reason: str) -> int:
    """Every open session of the user but the one this request came with (all of them when
    it came with none). Returns how many ended."""
    statement = update(UserSession).where(
        UserSession.user_id == user.id, UserSession.ended_at.is_(None)
    )
    if user.session_token:
        statement = statement.where(UserSession.token_hash != _digest(user.session_token))
    result = db.session.execute(
        statement.values(ended_at=utcnow(), ended_reason=reason),
        execution_options={"synchronize_session": False},
    )
    db.session.commit()
    return result.rowcount


def end_all_sessions(user: User, reason: str) -> None:
    db.session.execute(
        update(UserSession)
        .where(UserSession.user_id == user.id, UserSession.ended_at.is_(None))
        .values(ended_at=utcnow(), ended_reason=reason),
        execution_options={"synchronize_session": False},
    )
    db.session.commit()


def note_password_confirmed(token: str | None) -> None:
    found = _find(token) if token else None
    if found is not None:
        found.password_confirmed_at = utcnow()
        db.session.commit()


def password_recently_confirmed(token: str | None) -> bool:
    found = _find(token) if token else None
    return found is not None and utcnow() - found.password_confirmed_at < CONFIRMATION_WINDOW


def active_sessions(user: User) -> list[ActiveSession]:
    rows = db.session.scalars(
        select(UserSession)
        .where(UserSession.user_id == user.id, UserSession.ended_at.is_(None))
        .order_by(UserSession.last_seen_at.desc(), UserSession.id.desc())
        .limit(50)
    )
    current_hash = _digest(user.session_token) if user.session_token else None
    limits = current_app.config
    now = utcnow()
    return [
        ActiveSession(
            id=row.id,
            created_at=row.created_at,
            last_seen_at=row.last_seen_at,
            user_agent=row.user_agent,
            remote_addr=row.remote_addr,
            current=row.token_hash == current_hash,
        )
        for row in rows
        # Ended by the clock but not yet noticed: not shown as open.
        if now - row.last_seen_at < timedelta(minutes=limits["SESSION_IDLE_MINUTES"])
        and now - row.created_at < timedelta(days=limits["SESSION_MAX_DAYS"])
    ]


def _find(token: str) -> UserSession | None:
    return db.session.scalar(select(UserSession).where(UserSession.token_hash == _digest(token)))


def _end(found: UserSession, reason: str, now: datetime) -> None:
    found.ended_at = now
    found.ended_reason = reason
    db.session.commit()


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()
