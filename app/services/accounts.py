"""Portal users."""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, select
from werkzeug.security import generate_password_hash

from app.extensions import db
from app.models import User
from app.services import ValidationError

MIN_PASSWORD_LENGTH = 8


def normalize_email(email: str) -> str:
    try:
        result = validate_email(email.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValidationError(f"email is not valid: {exc}", field="email") from None
    return result.normalized.lower()


def create_user(email: str, password: str) -> User:
    address = normalize_email(email)
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(
            f"password must be at least {MIN_PASSWORD_LENGTH} characters", field="password"
        )
    if find_user_by_email(address) is not None:
        raise ValidationError("a user with that email already exists", field="email")
    # werkzeug's default is scrypt: deliberately slow, salted.
    user = User(email=address, password_hash=generate_password_hash(password))
    db.session.add(user)
    db.session.commit()
    return user


def find_user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
