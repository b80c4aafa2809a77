"""Merchant portal sign-in: register, log in, log out."""

from __future__ import annotations

import time

from flask import flash, redirect, render_template, request, session, url_for
from flask_babel import gettext, lazy_gettext
from flask_login import current_user, login_user, logout_user

from app.errors import ServiceError, ValidationError
from app.models import User
from app.portal import bp
from app.portal.context import reason
from app.portal.forms import LoginForm, RegisterForm
from app.rate_limits import address_and, rate_limit
from app.services.accounts import invitations, login_throttle, sessions
from app.services.accounts.login_throttle import Lock
from app.services.accounts.recovery import send_verification
from app.services.accounts.users import EmailTakenError, authenticate

DUPLICATE_EMAIL = lazy_gettext("An account with this email already exists.")
BAD_LOGIN = lazy_gettext("Invalid email or password.")
LOCKED = {
    Lock.PAIR: lazy_gettext(
        "Too many failed attempts for this email from your network. Try again in 15 minutes."
    ),
    Lock.EMAIL: lazy_gettext("Too many failed attempts for this email. Try again in 15 minutes."),
}


def safe_next(target: str | None) -> str:
    """Only a path on this site: "/..." but not "//host" or "/\\host" (browsers read a
    backslash as a slash), so ?next= can never send the user elsewhere."""
    if (
        target
        and target.startswith("/")
        and not target.startswith("//")
        and "\\" not in target
        and not any(ord(ch) < 32 for ch in target)
    ):
        return target
    return url_for("portal.projects")


def sign_in(user: User) -> None:
    """A fresh session: whatever the browser held before (a planted cookie, an old CSRF
    token) is dropped, and a new server-side session is started for it."""
    session.clear()
    sessions.start_session(user, request.user_agent.string, request.remote_addr)
    login_user(user)


def sign_out() -> None:
    if current_user.is_authenticated:
        sessions.end_session(current_user.session_token)
    logout_user()
    session.clear()


@bp.get("/")
def index():
    if current_user.is_authenticated:
        return redirect(url_for("portal.projects"))
    return redirect(url_for("portal.login"))


@bp.route("/register", methods=["GET", "POST"])
@rate_limit("RATE_LIMIT_REGISTER", methods=["POST"])
def register():
    if current_user.is_authenticated:
        return redirect(url_for("portal.projects"))
    token = request.args.get("invitation")
    try:
        invitation = invitations.check_may_register(token)
    except ServiceError as exc:
        # Closed, or by invitation without a usable one: say so, and show no form.
        return render_template("portal/register_refused.html", reason=reason(exc)), 403
    form = RegisterForm()
    if invitation is not None and invitation.email and not form.is_submitted():
        form.email.data = invitation.email
    if form.validate_on_submit():
        try:
            user = invitations.register(form.email.data, form.password.data, token)
        except EmailTakenError:
            form.email.errors.append(str(DUPLICATE_EMAIL))
        except ValidationError as exc:
            field = form.password if exc.field == "password" else form.email
            field.errors.append(reason(exc))
        except ServiceError as exc:
            if exc.field == "email":  # an invitation for another address
                form.email.errors.append(reason(exc))
            else:  # the link was used or withdrawn since the form was shown
                refused = reason(exc)
                return render_template("portal/register_refused.html", reason=refused), 403
        else:
            send_verification(user)
            sign_in(user)
            flash(
                gettext(
                    "Welcome! We sent a link to %(email)s: open it to confirm your address. "
                    "Sandbox works now; production keys wait until then.",
                    email=user.email,
                )
            )
            return redirect(url_for("portal.projects"))
    return render_template("portal/register.html", form=form, invitation=invitation)


def _posted_email() -> str:
    return request.form.get("email", "").strip().lower()


@bp.route("/login", methods=["GET", "POST"])
# Per address *and* email: nobody can lock another person out of their correct password.
@rate_limit("RATE_LIMIT_LOGIN", address_and(_posted_email), methods=["POST"])
def login():
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next")))
    form = LoginForm()
    error = None
    status = 200
    if form.validate_on_submit():
        email, address = form.email.data, request.remote_addr
        lock, slowdown = login_throttle.check(email, address)
        if lock is not None:
            error, status = str(LOCKED[lock]), 429
        else:
            if slowdown:
                # Many failures from this address (perhaps a whole office): slowed, not refused.
                time.sleep(slowdown)
            user = authenticate(email, form.password.data)
            if user is None:
                login_throttle.record_failure(email, address)
                error = str(BAD_LOGIN)
            else:
                login_throttle.clear_failures(email, address)
                sign_in(user)
                return redirect(safe_next(request.args.get("next")))
    registration_open = invitations.policy() is invitations.Policy.OPEN
    page = render_template(
        "portal/login.html", form=form, error=error, registration_open=registration_open
    )
    return page, status


@bp.post("/logout")
def logout():
    # CSRFProtect has already refused a POST without a valid token (400).
    sign_out()
    return redirect(url_for("portal.login"))
