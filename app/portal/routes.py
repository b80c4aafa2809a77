"""Merchant portal accounts: register, log in and out, change password."""

from __future__ import annotations

from flask import redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user

from app.errors import ValidationError
from app.portal import bp
from app.portal.context import sentence
from app.portal.forms import ChangePasswordForm, LoginForm, RegisterForm
from app.services.accounts import login_throttle
from app.services.accounts.users import (
    EmailTakenError,
    authenticate,
    change_password,
    create_user,
)

DUPLICATE_EMAIL = "An account with this email already exists."
BAD_LOGIN = "Invalid email or password."
LOCKED = "Too many failed attempts for this email. Try again in 15 minutes."


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


@bp.get("/")
def index():
    if current_user.is_authenticated:
        return redirect(url_for("portal.projects"))
    return redirect(url_for("portal.login"))


@bp.route("/register", methods=["GET", "POST"])
def register():
    if current_user.is_authenticated:
        return redirect(url_for("portal.projects"))
    form = RegisterForm()
    if form.validate_on_submit():
        try:
            user = create_user(form.email.data, form.password.data)
        except EmailTakenError:
            form.email.errors.append(DUPLICATE_EMAIL)
        except ValidationError as exc:
            field = form.password if exc.field == "password" else form.email
            field.errors.append(exc.message)
        else:
            login_user(user)
            return redirect(url_for("portal.projects"))
    return render_template("portal/register.html", form=form)


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next")))
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        email, address = form.email.data, request.remote_addr
        if login_throttle.is_locked(email, address):
            error = LOCKED
        else:
            user = authenticate(email, form.password.data)
            if user is None:
                login_throttle.record_failure(email, address)
                error = BAD_LOGIN
            else:
                login_throttle.clear_failures(email, address)
                login_user(user)
                return redirect(safe_next(request.args.get("next")))
    status = 429 if error == LOCKED else 200
    return render_template("portal/login.html", form=form, error=error), status


@bp.post("/logout")
def logout():
    # CSRFProtect has already refused a POST without a valid token (400).
    logout_user()
    return redirect(url_for("portal.login"))


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
            field.errors.append(sentence(exc.message))
        else:
            # session_version moved on: re-issue this session's id so only it survives.
            login_user(current_user._get_current_object())
            changed = True
            form = ChangePasswordForm(formdata=None)
    return render_template("portal/account_password.html", form=form, changed=changed)
