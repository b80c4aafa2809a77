"""Random identifiers, secret hashing and at-rest encryption."""

from __future__ import annotations

import base64
import hashlib
import secrets

from cryptography.fernet import Fernet, InvalidToken
from flask import current_app


def random_token(length: int) -> str:
    """URL-safe random characters (letters and digits only, so ids copy cleanly)."""
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    return "".join(secrets.choice(alphabet) for _ in range(length))


def hash_secret(secret: str) -> str:
    # API secrets carry >= 256 random bits: a fast hash is right (a slow one would throttle
    # the API), and it is not keyed with SECRET_KEY so rotating that locks nobody out.
    return hashlib.sha256(secret.encode()).hexdigest()


def _fernet() -> Fernet:
    digest = hashlib.sha256(current_app.config["LUNAS_DATA_KEY"].encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt(ciphertext: str) -> str:
    try:
        return _fernet().decrypt(ciphertext.encode()).decode()
    except InvalidToken:
        raise RuntimeError("cannot decrypt a stored secret: has LUNAS_DATA_KEY changed?") from None
