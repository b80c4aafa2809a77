"""Getting back into an account, and proving an address is yours: the mailed links for email
verification and password reset, and what opening them does."""

from __future__ import annotations

import logging
import smtplib
from enum import StrEnum

from flask import current_app
from redis.exceptions import RedisError

from app.extensions import db, redis_connection
from app.models import User
from app.services.accounts import sessions, tokens
from app.services.accounts.users import find_user_by_email, mark_email_verified, set_password
from app.services.mail import smtp
from app.services.mail.message import Mail, as_email
from app.services.mail.queue import enqueue_account_mail

log = logging.getLogger(__name__)

RESET_MINUTES = int(tokens.RESET_MAX_AGE.total_seconds() // 60)
MAIL_COOLDOWN_SECONDS = 60


class AccountMail(StrEnum):
    VERIFICATION = "verification"
    PASSWORD_RESET = "password_reset"  # noqa: S105 (a kind of mail, not a password)


def send_verification(user: User) -> None:
    if user.email_verified_at is None:
        _queue(AccountMail.VERIFICATION, user.id)


def request_password_reset(email: str) -> None:
    """Mails a reset link when the address has an account, and does nothing otherwise: the
    caller answers the same either way, so the form tells nobody which addresses exist."""
    user = find_user_by_email(email)
    if user is not None:
        _queue(AccountMail.PASSWORD_RESET, user.id)


def reset_password(token: str, new_password: str) -> User | None:
    """Sets the password if the link is still valid and unused (None otherwise) and ends every
    session of the account. Opening a reset link also proves the address."""
    user = tokens.user_for_reset(token)
    if user is None:
        return None
    set_password(user, new_password)
    mark_email_verified(user)
    sessions.end_all_sessions(user, sessions.EndReason.PASSWORD_RESET)
    return user


def verify_email(token: str) -> User | None:
    user = tokens.user_for_verification(token)
    if user is not None:
        mark_email_verified(user)
    return user


def deliver_account_mail(kind: str, user_id: int) -> str:
    """The worker's half: make the link now and send it. Raises when SMTP fails (RQ retries)."""
    user = db.session.get(User, user_id)
    if user is None:
        return "no such user"
    mail = _compose(AccountMail(kind), user)
    if mail is None:
        return "nothing to send"
    config = current_app.config
    smtp.send(config["SMTP_URL"], as_email(mail, config["MAIL_FROM"]))
    log.info("sent %s mail to user %s", kind, user_id)
    return "sent"


def _queue(kind: AccountMail, user_id: int) -> None:
    if _sent_lately(kind, user_id):
        return
    if not enqueue_account_mail(kind.value, user_id):
        try:
            deliver_account_mail(kind.value, user_id)
        except (OSError, smtp.MailConfigError, smtplib.SMTPException):
            log.exception("could not send %s mail to user %s", kind.value, user_id)


def _sent_lately(kind: AccountMail, user_id: int) -> bool:
    """At most one message of a kind per account per MAIL_COOLDOWN_SECONDS, so the forms
    cannot be used to flood someone's mailbox (silently: the page answers the same)."""
    try:
        first = redis_connection().set(
            f"lunas:mail-cooldown:{kind.value}:{user_id}", 1, nx=True, ex=MAIL_COOLDOWN_SECONDS
        )
    except RedisError:
        return False
    return not first


def _compose(kind: AccountMail, user: User) -> Mail | None:
    base = current_app.config["PUBLIC_BASE_URL"]
    if kind is AccountMail.VERIFICATION:
        if user.email_verified_at is not None:
            return None  # verified meanwhile: an old queued message is no use
        link = f"{base}/verify-email/{tokens.verification_token(user)}"
        return verification_mail(user.email, link)
    return password_reset_mail(user.email, f"{base}/password/reset/{tokens.reset_token(user)}")


def verification_mail(to: str, link: str) -> Mail:
    return Mail(
        to=to,
        subject="Konfirmasi email Lunas Anda / Confirm your Lunas email",
        text=(
            "Halo,\n\n"
            "Buka tautan ini untuk mengonfirmasi alamat email akun Lunas Anda. Setelah itu Anda\n"
            "dapat membuat kunci production dan menerima pembayaran sungguhan.\n\n"
            f"{link}\n\n"
            "Jika Anda tidak mendaftar di Lunas, abaikan email ini.\n\n"
            "---\n\n"
            "Hello,\n\n"
            "Open this link to confirm the email address of your Lunas account. You can then\n"
            "create production keys and take real payments.\n\n"
            f"{link}\n\n"
            "If you did not sign up for Lunas, ignore this email.\n"
        ),
    )


def password_reset_mail(to: str, link: str) -> Mail:
    return Mail(
        to=to,
        subject="Atur ulang kata sandi Lunas / Reset your Lunas password",
        text=(
            "Halo,\n\n"
            "Seseorang (semoga Anda) meminta pengaturan ulang kata sandi akun Lunas Anda.\n"
            f"Tautan ini berlaku {RESET_MINUTES} menit dan hanya dapat dipakai sekali:\n\n"
            f"{link}\n\n"
            "Setelah kata sandi diganti, semua sesi yang masuk dengan akun ini akan keluar.\n"
            "Jika Anda tidak memintanya, abaikan email ini: kata sandi Anda tidak berubah.\n\n"
            "---\n\n"
            "Hello,\n\n"
            "Someone (hopefully you) asked to reset the password of your Lunas account.\n"
            f"This link is valid for {RESET_MINUTES} minutes and works once:\n\n"
            f"{link}\n\n"
            "Once the password is changed, every session logged in to this account ends.\n"
            "If you did not ask for this, ignore this email: your password has not changed.\n"
        ),
    )
