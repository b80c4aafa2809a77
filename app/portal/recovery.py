"""Pages reached from a mailed link, or on the way to one: forgotten password, reset, and
email confirmation. None of them needs a session."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext
from flask_login import current_user

from app.errors import ValidationError
from app.portal import bp
from app.portal.context import reason
from app.portal.forms import ForgotPasswordForm, ResetPasswordForm
from app.portal.routes import sign_out
from app.services.accounts import tokens
from app.services.accounts.recovery import request_password_reset, reset_password, verify_email

RESET_MINUTES = int(tokens.RESET_MAX_AGE.total_seconds() // 60)
NO_STORE = {"Cache-Control": "no-store"}


@bp.route("/password/forgot", methods=["GET", "POST"])
def forgot_password():
    form = ForgotPasswordForm()
    sent = False
    if form.validate_on_submit():
        # The same page whether or not the address has an account.
        request_password_reset(form.email.data)
        sent = True
    return render_template(
        "portal/password_forgot.html", form=form, sent=sent, minutes=RESET_MINUTES
    )


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password_page(token: str):
    # A link that is stale, used or forged: one answer, and a way to ask for a new one.
    if tokens.user_for_reset(token) is None:
        return render_template("portal/password_reset.html", form=None), 400, NO_STORE
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            user = reset_password(token, form.password.data)
        except ValidationError as exc:
            form.password.errors.append(reason(exc))
        else:
            if user is None:  # used by another request meanwhile
                return render_template("portal/password_reset.html", form=None), 400, NO_STORE
            if current_user.is_authenticated:
                sign_out()  # every session ended, this browser's too
            flash(gettext("Password changed, and every session of the account has ended. Log in."))
            return redirect(url_for("portal.login"), 303)
    return render_template("portal/password_reset.html", form=form), 200, NO_STORE


@bp.get("/verify-email/<token>")
def verify_email_page(token: str):
    user = verify_email(token)
    status = 200 if user is not None else 400
    return render_template("portal/verify_email.html", verified=user), status, NO_STORE
