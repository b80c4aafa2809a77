"""Signed links mailed to a user: verify an email address, reset a password.

Nothing is stored: each token is signed with SECRET_KEY (itsdangerous, with a salt of its own
per purpose, so one kind can never be used as the other) and carries what it is bound to.

- A reset token is bound to a fingerprint of the current password hash. Setting a password
  always changes the hash (a fresh salt), so a used link, or any older one, stops working:
  single use without a table. Valid RESET_MAX_AGE.
- A verification token is bound to the address it was sent to, so a link for an address the
  account no longer has verifies nothing. Valid VERIFY_MAX_AGE."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer

from app.extensions import db
from app.models import User

RESET_MAX_AGE = timedelta(minutes=30)
VERIFY_MAX_AGE = timedelta(days=7)
_RESET_SALT = "lunas.password-reset"
_VERIFY_SALT = "lunas.email-verification"


def reset_token(user: User) -> str:
    return _serializer(_RESET_SALT).dumps({"u": user.id, "p": _fingerprint(user)})


def user_for_reset(token: str) -> User | None:
    """The user a still-valid, unused reset token belongs to; None for anything else."""
    data = _load(_RESET_SALT, token, RESET_MAX_AGE)
    user = _user(data)
    if user is None or not hmac.compare_digest(str(data.get("p")), _fingerprint(user)):
        return None
    return user


def verification_token(user: User) -> str:
    return _serializer(_VERIFY_SALT).dumps({"u": user.id, "e": user.email})


def user_for_verification(token: str) -> User | None:
    data = _load(_VERIFY_SALT, token, VERIFY_MAX_AGE)
    user = _user(data)
    if user is None or not hmac.compare_digest(str(data.get("e")), user.email):
        return None
    return user


def _serializer(salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=salt)


def _load(salt: str, token: str, max_age: timedelta) -> dict:
    try:
        data = _serializer(salt).loads(token, max_age=int(max_age.total_seconds()))
    except (BadSignature, UnicodeError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _user(data: dict) -> User | None:
    user_id = data.get("u")
    if not isinstance(user_id, int) or isinstance(user_id, bool) or not 0 < user_id < 2**63:
        return None
    return db.session.get(User, user_id)


def _fingerprint(user: User) -> str:
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:32]
