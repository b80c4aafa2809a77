"""The signed-in user's account: sessions ("log out everywhere"), password change, email
verification, and asking for the password again before a secret is shown or replaced."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user, login_required

from app.errors import ValidationError
from app.portal import bp
from app.portal.context import reason
from app.portal.forms import ButtonForm, ChangePasswordForm, ConfirmPasswordForm
from app.portal.routes import LOCKED, safe_next, sign_out
from app.services.accounts import login_throttle, sessions
from app.services.accounts.recovery import send_verification
from app.services.accounts.users import change_password, password_matches

CONFIRM_MINUTES = int(sessions.CONFIRMATION_WINDOW.total_seconds() // 60)


def recent_password_required(back_to: str) -> Callable:
    """For a project page's action that reveals or replaces a secret: unless the password
    was typed in this session within the last ten minutes, ask for it first, then come back
    to the page `back_to` (the action itself is not replayed: the user presses it again)."""

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args, **kwargs):
            if sessions.password_recently_confirmed(current_user.session_token):
                return view(*args, **kwargs)
            page = url_for(back_to, project_id=g.project.id, env=g.env.value)
            return redirect(url_for("portal.confirm_password", next=page), 303)

        return wrapper

    return decorate


@bp.get("/account")
@login_required
def account():
    return render_template(
        "portal/account.html",
        open_sessions=sessions.active_sessions(current_user),
        form=ButtonForm(formdata=None),
    )


@bp.post("/account/sessions/end-all")
@login_required
def log_out_everywhere():
    ButtonForm().validate_on_submit()  # CSRFProtect has already checked the token
    sessions.end_all_sessions(current_user, sessions.EndReason.EVERYWHERE)
    sign_out()
    flash(gettext("You have been logged out everywhere, including here."))
    return redirect(url_for("portal.login"), 303)


@bp.post("/account/verify-email/resend")
@login_required
def resend_verification():
    if current_user.email_verified:
        flash(gettext("Your email address is already confirmed."))
    else:
        send_verification(current_user)
        flash(gettext("We sent a new confirmation link to %(email)s.", email=current_user.email))
    return redirect(safe_next(request.form.get("next")), 303)


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def account_password():
    form = ChangePasswordForm()
    changed = False
    if form.validate_on_submit():
        try:
            change_password(current_user, form.current_password.data, form.new_password.data)
        except ValidationError as exc:
            field = form.new_password if exc.field == "new_password" else form.current_password
            field.errors.append(reason(exc))
        else:
            sessions.end_other_sessions(current_user, sessions.EndReason.PASSWORD_CHANGED)
            sessions.note_password_confirmed(current_user.session_token)
            changed = True
            form = ChangePasswordForm(formdata=None)
    return render_template("portal/account_password.html", form=form, changed=changed)


@bp.route("/account/confirm-password", methods=["GET", "POST"])
@login_required
def confirm_password():
    form = ConfirmPasswordForm()
    error = None
    if form.validate_on_submit():
        # Guessing here from a stolen session is throttled like guessing at the login form.
        email, address = current_user.email, request.remote_addr
        lock, slowdown = login_throttle.check(email, address)
        if lock is not None:
            error = str(LOCKED[lock])
        else:
            if slowdown:
                time.sleep(slowdown)
            if password_matches(current_user, form.password.data):
                login_throttle.clear_failures(email, address)
                sessions.note_password_confirmed(current_user.session_token)
                return redirect(safe_next(request.args.get("next")), 303)
            login_throttle.record_failure(email, address)
            form.password.errors.append(gettext("That is not your password."))
    return render_template(
        "portal/confirm_password.html", form=form, error=error, minutes=CONFIRM_MINUTES
    )
