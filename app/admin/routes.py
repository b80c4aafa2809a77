"""The operator's pages: the platform at a glance, merchants and their projects (approve
production, suspend, resume), invitations, the record of operator actions, and the
notifications that never verified. Every change is a POST that redirects back (303)."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.admin import bp
from app.errors import ServiceError
from app.services.accounts import audit, invitations, operators
from app.services.checkout import unverified
from app.services.operations.health import platform_health

ANY_METHOD = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
NOT_READING = ["POST", "PUT", "PATCH", "DELETE"]


@bp.get("")
@bp.get("/")
def index():
    return render_template(
        "admin/index.html",
        waiting=operators.waiting_for_approval(),
        actions=audit.recent_actions(limit=10),
        registration=invitations.policy(),
        health=platform_health(),
    )


@bp.get("/merchants")
def merchants():
    return render_template("admin/merchants.html", merchants=operators.merchants())


@bp.post("/projects/<project_id>/approve")
def approve_project(project_id: str):
    project = _project_action(operators.approve_production, project_id, current_user)
    flash(f"Production approved for {project.name}.")
    return _back()


@bp.post("/projects/<project_id>/suspend")
def suspend_project(project_id: str):
    reason = request.form.get("reason")
    project = _project_action(operators.suspend, project_id, current_user, reason)
    flash(f"{project.name} is suspended: no new checkout starts; money already moving goes on.")
    return _back()


@bp.post("/projects/<project_id>/resume")
def resume_project(project_id: str):
    project = _project_action(operators.resume, project_id, current_user)
    flash(f"{project.name} is resumed.")
    return _back()


@bp.get("/invitations")
def invitations_page():
    return _invitations_page()


@bp.post("/invitations")
def create_invitation():
    try:
        issued = invitations.create_invitation(current_user, request.form.get("email"))
    except ServiceError as exc:
        return _invitations_page(error=exc.message), 400
    # Rendered, not redirected: the link exists in plain text only in this response.
    return _invitations_page(issued=issued)


@bp.post("/invitations/<int:invitation_id>/revoke")
def revoke_invitation(invitation_id: int):
    try:
        invitations.revoke_invitation(invitation_id, current_user)
    except ServiceError:
        abort(404)
    flash("Invitation withdrawn: its link no longer signs anyone up.")
    return redirect(url_for("admin.invitations_page"), 303)


@bp.get("/actions")
def actions():
    return render_template("admin/actions.html", actions=audit.recent_actions())


def _invitations_page(issued=None, error: str | None = None):
    return render_template(
        "admin/invitations.html",
        invitations=invitations.recent_invitations(),
        issued=issued,
        error=error,
        registration=invitations.policy(),
        expiry_days=invitations.EXPIRY.days,
    )


def _project_action(action, project_id: str, *args):
    try:
        return action(project_id, *args)
    except ServiceError as exc:
        if exc.http_status == 404:
            abort(404)
        flash(exc.message)
        abort(redirect(_back_url(), 303))


def _back_url() -> str:
    # Only our own pages: the form says which one it came from.
    return (
        url_for("admin.index")
        if request.form.get("back") == "index"
        else url_for("admin.merchants")
    )


def _back():
    return redirect(_back_url(), 303)


@bp.get("/notifications/unverified")
def unverified_notifications():
    raw_after, raw_before = request.args.get("after"), request.args.get("before")
    after = unverified.KEYSET.decode(raw_after)
    before = None if after else unverified.KEYSET.decode(raw_before)
    stale_link = bool(raw_after or raw_before) and after is None and before is None
    page = unverified.unverified_page(after=after, before=before)
    here = "admin.unverified_notifications"
    return render_template(
        "admin/unverified.html",
        page=page,
        stale_link=stale_link,
        excerpt_length=unverified.BODY_EXCERPT,
        retention_days=current_app.config["UNVERIFIED_EVENT_RETENTION_DAYS"],
        older_url=page.older and url_for(here, after=page.older.encode()),
        newer_url=page.newer and url_for(here, before=page.newer.encode()),
        newest_url=url_for(here),
    )


@bp.route("", methods=NOT_READING)
@bp.route("/", methods=NOT_READING)
@bp.route("/<path:anything>", methods=ANY_METHOD)
def nothing_here(anything: str = ""):
    # Unknown paths, and known ones asked with another method, answer like any unknown URL
    # (never a 405 that would name a page), after the operators-only check.
    abort(404)
