"""Portal users: sign-up, password checks and changes, email verification."""

from __future__ import annotations

from functools import cache

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from app.errors import ValidationError
from app.extensions import db
from app.models import User
from app.models.base import utcnow

MIN_PASSWORD_LENGTH = 8


class EmailTakenError(ValidationError):
    code = "email_taken"

    def __init__(self, **params: object) -> None:
        super().__init__("a user with that email already exists", field="email", **params)


def normalize_email(email: str) -> str:
    try:
        result = validate_email(email.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValidationError(
            "email is not valid: %(reason)s", field="email", reason=str(exc)
        ) from None
    return result.normalized.lower()


def create_user(email: str, password: str, verified: bool = False, commit: bool = True) -> User:
    """`verified`: the address is taken as proven (an operator's CLI); otherwise the owner
    must open the link mailed to it before creating production keys. `commit` False: added
    only, for a caller that commits it with more (the invitation it used); a taken email then
    surfaces as IntegrityError there. Whether sign-up is allowed at all is
    invitations.register's question."""
    address = normalize_email(email)
    _check_password_length(password, field="password")
    if find_user_by_email(address) is not None:
        raise EmailTakenError()
    # werkzeug's default is scrypt: deliberately slow, salted.
    user = User(
        email=address,
        password_hash=generate_password_hash(password),
        email_verified_at=utcnow() if verified else None,
    )
    db.session.add(user)
    if not commit:
        return user
    try:
        db.session.commit()
    except IntegrityError:
        # Two registrations for one address at once: the unique constraint decides.
        db.session.rollback()
        raise EmailTakenError() from None
    return user


def authenticate(email: str, password: str) -> User | None:
    """The user when the password matches; None otherwise, in about the same time whether or
    not the address exists (an unknown address still pays for one scrypt check)."""
    user = find_user_by_email(email)
    if user is None:
        check_password_hash(_dummy_password_hash(), password)
        return None
    return user if check_password_hash(user.password_hash, password) else None


def change_password(user: User, current_password: str, new_password: str) -> None:
    """The caller ends the user's other sessions (sessions.end_other_sessions)."""
    if not check_password_hash(user.password_hash, current_password):
        raise ValidationError("current password is incorrect", field="current_password")
    set_password(user, new_password, field="new_password")


def set_password(user: User, new_password: str, field: str = "password") -> None:
    _check_password_length(new_password, field=field)
    # A fresh salt every time: the hash always changes, which is what makes a reset link
    # single-use (app/services/accounts/tokens.py).
    user.password_hash = generate_password_hash(new_password)
    db.session.commit()


def password_matches(user: User, password: str) -> bool:
    return check_password_hash(user.password_hash, password)


def mark_email_verified(user: User) -> None:
    if user.email_verified_at is None:
        user.email_verified_at = utcnow()
        db.session.commit()


def find_user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))


def _check_password_length(password: str, field: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(
            "password must be at least %(minimum)s characters",
            field=field,
            minimum=MIN_PASSWORD_LENGTH,
        )


@cache
def _dummy_password_hash() -> str:
    return generate_password_hash("lunas-no-such-user")
