"""Operators: the people who run the platform and see /admin. Only the CLI makes one."""

from __future__ import annotations

from app.errors import NotFoundError
from app.extensions import db
from app.models import User
from app.services.accounts.users import find_user_by_email


def promote(email: str) -> User:
    """Make an existing user an operator (again: promoting an operator changes nothing).
    NotFoundError when no user has that email."""
    user = find_user_by_email(email)
    if user is None:
        raise NotFoundError(f"no user with email {email.strip()!r}", field="email")
    user.is_operator = True
    db.session.commit()
    return user
