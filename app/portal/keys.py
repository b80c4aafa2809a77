"""API keys per environment: client_id, the secrets' states, rotate (the new secret is shown
once, in the POST's own response) and revoke."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template
from flask_babel import gettext

from app.errors import ValidationError
from app.models import Environment, Project
from app.portal import bp
from app.portal.account import recent_password_required
from app.portal.context import env_url, project_page, reason
from app.portal.forms import RotateSecretForm
from app.services.accounts.credentials import (
    EmailNotVerifiedError,
    IssuedSecret,
    api_client_of,
    revoke_secret,
    rotate_project_secret,
    secret_refusal,
    secrets_of,
)
from app.services.accounts.standing import ProductionNotApprovedError


@bp.get("/projects/<project_id>/keys")
@project_page
def keys(project: Project, env: Environment):
    return _keys_page(project, env, RotateSecretForm(formdata=None))


@bp.post("/projects/<project_id>/keys/rotate")
@project_page
@recent_password_required(back_to="portal.keys")
def rotate_key(project: Project, env: Environment):
    form = RotateSecretForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        issued = rotate_project_secret(project.id, env, revoke_old_now=form.revoke_old_now.data)
    except (EmailNotVerifiedError, ProductionNotApprovedError) as exc:
        flash(reason(exc))
        return redirect(env_url("portal.keys"), 303)
    # Rendered, not redirected: the secret exists in plain text only in this response (sent
    # with no-store), never in the session, a flash message, a URL or a log.
    return _keys_page(project, env, RotateSecretForm(formdata=None), issued=issued)


@bp.post("/projects/<project_id>/keys/<int:secret_id>/revoke")
@project_page
def revoke_key(project: Project, env: Environment, secret_id: int):
    try:
        revoked = revoke_secret(project.id, env, secret_id)
    except ValidationError as exc:
        flash(gettext("%(reason)s; nothing changed.", reason=reason(exc, "")))
    else:
        flash(
            gettext("Secret %(hint)s revoked: the API refuses it from now on.", hint=revoked.hint)
        )
    return redirect(env_url("portal.keys"), 303)


def _keys_page(
    project: Project, env: Environment, form: RotateSecretForm, issued: IssuedSecret | None = None
):
    client = api_client_of(project.id, env)
    secrets = secrets_of(project.id, env)
    return render_template(
        "portal/keys.html",
        client_id=client.client_id,
        secrets=secrets,
        has_usable=any(secret.usable for secret in secrets),
        issued=issued,
        form=form,
        grace_hours=current_app.config["CREDENTIAL_GRACE_HOURS"],
        refusal=secret_refusal(project, env),
    )
